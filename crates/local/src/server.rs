//! A plain HTTP/1.1 server standing in for API Gateway in front of the functions (ddns, and
//! clips for `/v1/clips*`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Response};
use tokio::net::TcpListener;

use crate::apigw::{self, HttpRequest, MAX_PAYLOAD_BYTES};

/// A Lambda behind the API: takes the parsed request, answers like the function would.
pub type Function = Arc<
    dyn Fn(lambda_http::Request) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>>
        + Send
        + Sync,
>;

fn plain(status: u16, text: &'static str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("static response")
}

async fn answer(
    function: Function,
    peer: SocketAddr,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Ok(collected) = Limited::new(body, MAX_PAYLOAD_BYTES).collect().await else {
        return plain(413, r#"{"message":"Request Entity Too Large"}"#);
    };
    let body = collected.to_bytes();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let request = HttpRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers,
        body: &body,
        source_ip: peer.ip().to_canonical(),
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let event = apigw::event(&request, now_ms, &format!("{:016x}", fastrand::u64(..)));
    let response = apigw::from_lambda_response(function(apigw::to_lambda_request(&event)).await);
    let (parts, bytes) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Serves `function` on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, function: Function, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let function = function.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let function = function.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(function, peer, req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// The ddns function as a `Function`.
pub fn ddns_function<K: failberry_proto::Clock + 'static>(
    app: Arc<failberry_ddns::AwsDdns<K>>,
) -> Function {
    Arc::new(move |req| {
        let app = app.clone();
        Box::pin(async move { app.handle(req).await })
    })
}

/// The clips function as a `Function`.
pub fn clips_function<K: failberry_clips::Clock + 'static>(
    app: Arc<failberry_clips::AwsClips<K>>,
) -> Function {
    Arc::new(move |req| {
        let app = app.clone();
        Box::pin(async move { app.handle(req).await })
    })
}

/// API Gateway's routes: `/v1/clips` and below to `clips`, everything else (`/v1/myip`,
/// `/v1/update`, `/v1/report`, `/nic/update`, `/`) to `ddns`, which answers 404 for the rest.
pub fn routed(ddns: Function, clips: Function) -> Function {
    Arc::new(move |req| {
        let path = req.uri().path();
        if path == failberry_proto::paths::CLIPS
            || path.starts_with(failberry_proto::paths::CLIP_RESULT_PREFIX)
        {
            clips(req)
        } else {
            ddns(req)
        }
    })
}
