//! Which answer a request gets: `GET /` (the ping target, kept as cheap as possible) and
//! `GET /status`, HEAD of both, and the refusals. Connections, limits and timeouts are the
//! `health` module's; the status document is `status`'.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use super::status::StatusSource;

pub type Body = Full<Bytes>;

/// The answer to one request. It never reads the request body: a request that comes with one is
/// refused (or answered, for a wrong method) and its connection closed. hyper leaves the body out
/// of HEAD answers and adds `content-length` and `date`.
pub fn respond<B: hyper::body::Body>(
    request: &Request<B>,
    status: &StatusSource,
) -> Response<Body> {
    let method = request.method();
    let has_body = !request.body().is_end_stream();
    let mut response = if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        response
    } else if has_body {
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request bodies are not accepted\n",
        )
    } else {
        match request.uri().path() {
            "/" => text(StatusCode::OK, "ok\n"),
            "/status" => json(status.json()),
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    };
    if has_body {
        // The unread body is still on the wire: this connection cannot carry another request.
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn text(code: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn json(body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HealthConfig;
    use http_body_util::BodyExt;

    fn source() -> StatusSource {
        let config = HealthConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            max_connections: 1,
            header_timeout: std::time::Duration::from_secs(1),
            write_timeout: std::time::Duration::from_secs(1),
            links: Default::default(),
            ddns_state_file: "/nonexistent/failberry-state.json".into(),
        };
        StatusSource::new(&config)
    }

    fn request(method: Method, uri: &str, body: &'static str) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(Bytes::from_static(body.as_bytes())));
        *request.method_mut() = method;
        *request.uri_mut() = uri.parse().unwrap();
        request
    }

    #[tokio::test]
    async fn answers() {
        let status = source();
        // (name, method, uri, request body, status, response body starts with, closes)
        let cases = [
            ("root", Method::GET, "/", "", 200, "ok\n", false),
            (
                "root with a query",
                Method::GET,
                "/?probe=1",
                "",
                200,
                "ok\n",
                false,
            ),
            ("head of root", Method::HEAD, "/", "", 200, "ok\n", false),
            (
                "status",
                Method::GET,
                "/status",
                "",
                200,
                "{\"version\"",
                false,
            ),
            (
                "status is exact",
                Method::GET,
                "/status/",
                "",
                404,
                "not found",
                false,
            ),
            (
                "other path",
                Method::GET,
                "/index.html",
                "",
                404,
                "not found",
                false,
            ),
            (
                "post",
                Method::POST,
                "/",
                "",
                405,
                "method not allowed",
                false,
            ),
            (
                "post with a body",
                Method::POST,
                "/",
                "x=1",
                405,
                "method",
                true,
            ),
            (
                "delete",
                Method::DELETE,
                "/status",
                "",
                405,
                "method",
                false,
            ),
            (
                "get with a body",
                Method::GET,
                "/",
                "hello",
                413,
                "request bodies",
                true,
            ),
        ];
        for (name, method, uri, body, code, starts, closes) in cases {
            let response = respond(&request(method, uri, body), &status);
            assert_eq!(response.status().as_u16(), code, "{name}");
            assert_eq!(
                response.headers().get(CONNECTION).is_some(),
                closes,
                "{name}: connection: close"
            );
            if code == 405 {
                assert_eq!(response.headers()[ALLOW], "GET, HEAD", "{name}");
            }
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            assert!(
                bytes.starts_with(starts.as_bytes()),
                "{name}: {bytes:?} does not start with {starts:?}"
            );
        }
    }
}
