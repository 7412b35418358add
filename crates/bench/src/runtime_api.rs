//! A local Lambda Runtime API (the `/2018-06-01/runtime/...` endpoints a bootstrap polls), enough
//! to hand one function process its invocations and timestamp each answer as it arrives.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};

/// One answer the function posted.
#[derive(Debug)]
pub struct Answer {
    pub at: Instant,
    pub ok: bool,
    pub body: Bytes,
}

pub struct RuntimeApi {
    pub addr: std::net::SocketAddr,
    events: mpsc::UnboundedSender<String>,
    answers: Mutex<mpsc::UnboundedReceiver<Answer>>,
    /// The accept loop: ended with the API, so that every cold start does not leave one behind.
    accepting: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel::<String>();
        let (answers_tx, answers_rx) = mpsc::unbounded_channel::<Answer>();
        let events_rx = Arc::new(Mutex::new(events_rx));
        let accepting = tokio::spawn(async move {
            let mut counter = 0u64;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let events_rx = events_rx.clone();
                let answers_tx = answers_tx.clone();
                counter += 1;
                let conn = counter;
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let events_rx = events_rx.clone();
                        let answers_tx = answers_tx.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let resp = if path.ends_with("/invocation/next") {
                                let event = events_rx.lock().await.recv().await.unwrap_or_default();
                                let deadline = std::time::SystemTime::now()
                                    .duration_since(std::time::UNIX_EPOCH)
                                    .unwrap()
                                    .as_millis()
                                    + 30_000;
                                hyper::Response::builder()
                                    .header(
                                        "lambda-runtime-aws-request-id",
                                        format!("req-{conn}-{}", fastrand::u32(..)),
                                    )
                                    .header("lambda-runtime-deadline-ms", deadline.to_string())
                                    .header(
                                        "lambda-runtime-invoked-function-arn",
                                        "arn:aws:lambda:us-east-1:123456789012:function:bench",
                                    )
                                    .body(Full::new(Bytes::from(event)))
                                    .unwrap()
                            } else {
                                let ok = path.ends_with("/response");
                                let body = req
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let _ = answers_tx.send(Answer {
                                    at: Instant::now(),
                                    ok,
                                    body,
                                });
                                hyper::Response::builder()
                                    .status(202)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap()
                            };
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            events: events_tx,
            answers: Mutex::new(answers_rx),
            accepting,
        })
    }

    /// Queues an invocation event.
    pub fn invoke(&self, event: String) {
        let _ = self.events.send(event);
    }

    /// Waits for the next answer.
    pub async fn answer(&self) -> Option<Answer> {
        self.answers.lock().await.recv().await
    }
}
