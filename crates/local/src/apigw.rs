//! API Gateway HTTP API, payload format 2.0, as the handlers see it: the request becomes the same
//! JSON event API Gateway would send (lowercased headers, duplicate headers and query parameters
//! comma-joined, `requestContext.http.sourceIp` from the TCP peer, binary bodies base64-encoded)
//! and is parsed by `lambda_http` exactly as in Lambda.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine;
use bytes::Bytes;
use lambda_http::{Body, Response};
use serde_json::{json, Value};

/// API Gateway's own payload limit for HTTP APIs.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    pub source_ip: IpAddr,
}

fn comma_join(pairs: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in pairs {
        map.entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    map
}

/// The event JSON API Gateway would deliver for this request.
pub fn event(req: &HttpRequest<'_>, now_ms: i64, request_id: &str) -> Value {
    let headers = comma_join(
        req.headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
    );
    let query = req.query.unwrap_or_default();
    let params = comma_join(
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned())),
    );
    let host = headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let (body, is_base64) = match std::str::from_utf8(req.body) {
        _ if req.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_string()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(req.body)),
            true,
        ),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": req.path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "failberry-local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip.to_string(),
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": is_base64,
    });
    if !params.is_empty() {
        event["queryStringParameters"] = json!(params);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}

/// Parses the event the way the Lambda runtime does.
pub fn to_lambda_request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string())
        .expect("events built by `event` always parse")
}

/// The handler's answer as API Gateway would relay it.
pub fn from_lambda_response(resp: Response<Body>) -> http::Response<Bytes> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    http::Response::from_parts(parts, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    #[test]
    fn events_parse_like_api_gateway_sends_them() {
        let req = HttpRequest {
            method: "GET",
            path: "/nic/update",
            query: Some("hostname=a.example.com%2Cb.example.com&myip=81.2.69.142&myip=2a00::1"),
            headers: vec![
                ("Host".into(), "127.0.0.1:8080".into()),
                ("X-Dup".into(), "1".into()),
                ("x-dup".into(), "2".into()),
            ],
            body: b"",
            source_ip: "127.0.0.9".parse().unwrap(),
        };
        let parsed = to_lambda_request(&event(&req, 0, "r1"));
        assert_eq!(parsed.uri().path(), "/nic/update");
        let q = parsed.query_string_parameters();
        assert_eq!(q.first("hostname"), Some("a.example.com,b.example.com"));
        // lambda_http reads the raw query string, so a repeated parameter stays a list.
        assert_eq!(q.all("myip"), Some(vec!["81.2.69.142", "2a00::1"]));
        assert_eq!(parsed.headers().get("x-dup").unwrap(), "1,2");
        match parsed.request_context() {
            lambda_http::request::RequestContext::ApiGatewayV2(ctx) => {
                assert_eq!(ctx.http.source_ip.as_deref(), Some("127.0.0.9"))
            }
            other => panic!("wrong context {other:?}"),
        }
    }

    #[test]
    fn binary_bodies_round_trip() {
        let body = [0u8, 159, 146, 150];
        let req = HttpRequest {
            method: "POST",
            path: "/",
            query: None,
            headers: vec![],
            body: &body,
            source_ip: "127.0.0.1".parse().unwrap(),
        };
        let parsed = to_lambda_request(&event(&req, 0, "r2"));
        assert_eq!(parsed.body().as_ref(), &body);
    }
}
