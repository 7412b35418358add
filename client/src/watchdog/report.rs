//! The watchdog's [`Reporter`] for the API: a signed `POST /v1/report` (same key id, secret and
//! signing as `ddns update`; the body type and its bounds are `proto::report`'s). Not bound to
//! an interface: a report about a dead wireless link has to leave through the wired one.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use failberry_proto::paths::REPORT;
use failberry_proto::report::ReportRequest;
use failberry_proto::{Clock, ErrorBody, ErrorCode, Signer, Stamps, SystemClock};
use url::Url;

use super::{Report, Reporter};
use crate::api::new_nonce;

pub struct ApiReporter {
    url: Url,
    signer: Signer,
    http: reqwest::Client,
    stamps: Stamps,
    /// Server clock minus ours, learnt from a `stale_timestamp` answer.
    offset: AtomicI64,
}

impl ApiReporter {
    pub fn new(base: &Url, hostname: &str, secret: &str) -> Result<Self, reqwest::Error> {
        let mut url = base.clone();
        url.set_path(&format!("{}{REPORT}", base.path().trim_end_matches('/')));
        Ok(Self {
            url,
            signer: Signer::new(hostname, secret),
            http: reqwest::Client::builder()
                .user_agent(concat!("failberry-watchdog/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .build()?,
            stamps: Stamps::new(),
            offset: AtomicI64::new(0),
        })
    }

    /// The signed body and headers of `report`, stamped now.
    pub fn prepare(&self, report: &Report) -> (Vec<u8>, [(&'static str, String); 2]) {
        let now = SystemClock.unix_secs() + self.offset.load(Ordering::Relaxed);
        let request = ReportRequest {
            device: self.signer.key_id().to_string(),
            timestamp: self.stamps.next(now),
            nonce: new_nonce(),
            links: report.links.clone(),
            data: report.data.clone(),
            actions: report.actions.clone(),
        };
        let body = serde_json::to_vec(&request).expect("a report serialises");
        let headers = self.signer.headers("POST", REPORT, &body);
        (body, headers)
    }

    async fn post(&self, report: &Report) -> Result<(u16, Vec<u8>), String> {
        let (body, headers) = self.prepare(report);
        let mut request = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let answer = request
            .body(body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, bytes.to_vec()))
    }
}

impl Reporter for ApiReporter {
    async fn send(&self, report: &Report) -> Result<(), String> {
        for _ in 0..2 {
            let (status, body) = self.post(report).await?;
            if status == 200 {
                return Ok(());
            }
            match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) if e.error == ErrorCode::StaleTimestamp => {
                    self.offset
                        .store(e.time - SystemClock.unix_secs(), Ordering::Relaxed);
                }
                Ok(e) => {
                    return Err(format!(
                        "{} answered {status} {}: {}",
                        self.url, e.error, e.message
                    ))
                }
                Err(_) => return Err(format!("{} answered {status}", self.url)),
            }
        }
        Err(format!(
            "{}: the clock is still off after correcting it",
            self.url
        ))
    }
}
