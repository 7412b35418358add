//! The watchdog's [`Reporter`] for the API: a signed `POST /v1/report` through the device's one
//! signed client (`api::ApiClient`: same key id, secret, clock offset and stale-timestamp retry as
//! `ddns update`; the body type and its bounds are `proto::report`'s). Not bound to an interface:
//! a report about a dead wireless link has to leave through the wired one.

use failberry_proto::paths::REPORT;
use failberry_proto::report::ReportRequest;

use super::{Report, Reporter};
use crate::api::{ApiClient, ApiError};
use crate::config::Device;

pub struct ApiReporter {
    api: ApiClient,
}

impl ApiReporter {
    pub fn new(device: &Device) -> Result<Self, reqwest::Error> {
        Ok(Self {
            api: ApiClient::new(device, None)?,
        })
    }
}

impl Reporter for ApiReporter {
    async fn send(&self, report: &Report) -> Result<(), ApiError> {
        let device = self.api.device_name();
        self.api
            .signed(reqwest::Method::POST, REPORT, |timestamp, nonce| {
                let request = ReportRequest {
                    device: device.to_string(),
                    timestamp,
                    nonce,
                    links: report.links.clone(),
                    data: report.data.clone(),
                    actions: report.actions.clone(),
                };
                serde_json::to_vec(&request).expect("a report serialises")
            })
            .await
            .map(|_| ())
    }
}
