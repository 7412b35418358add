//! The Unifi Video source and its lock mark. Ubiquiti never published an API document for
//! Unifi Video (end of life, replaced by UniFi Protect); this follows the API as its users wrote
//! it down (mkjones/nvr-api `api_docs.md`, yuppity/unifi-video-api's `recording.py`):
//! `GET /api/2.0/recording?apiKey=` lists recordings (`_id`, `cameras`, `meta.cameraName`,
//! `startTime`/`endTime` in ms, `inProgress`, `locked`), `GET /api/2.0/recording/<id>/download`
//! serves one, and `PUT /api/2.0/recording/<id>` with `{"locked": true}` locks it against the
//! NVR's retention.

use serde::Deserialize;
use url::Url;

use super::{
    at_most_logged, checked_id, fetch_clip, now_secs, nvr_http, plain_segment, read_json,
    refuse_id, NvrError, NvrLimits, Reachability, Source, SourceContext, SourceFuture,
};
use crate::camera::queue::{job_id, safe_name, Job, Origin};
use crate::config::UnifiSource;

const LOOKBACK_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub cameras: Vec<String>,
    #[serde(default)]
    pub meta: Option<Meta>,
    pub start_time: i64,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub in_progress: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub camera_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Listing {
    data: Vec<Recording>,
}

impl Recording {
    pub fn camera(&self) -> String {
        let name = self
            .meta
            .as_ref()
            .and_then(|m| m.camera_name.clone())
            .or_else(|| self.cameras.first().cloned())
            .unwrap_or_else(|| "unifi".into());
        safe_name(&name)
    }
}

/// The recordings worth taking, oldest first: finished ones.
pub fn finished(mut recordings: Vec<Recording>) -> Vec<Recording> {
    recordings.retain(|r| !r.in_progress && r.end_time.is_some());
    recordings.sort_by_key(|r| r.start_time);
    recordings
}

pub struct UnifiVideo {
    config: UnifiSource,
    http: reqwest::Client,
    limits: NvrLimits,
}

impl UnifiVideo {
    pub fn new(config: UnifiSource) -> Self {
        Self::with_limits(config, NvrLimits::default())
    }

    pub fn with_limits(config: UnifiSource, limits: NvrLimits) -> Self {
        Self {
            http: nvr_http(&config.url, &limits),
            config,
            limits,
        }
    }

    fn failed(&self, what: &'static str) -> impl Fn(reqwest::Error) -> NvrError {
        NvrError::http(what, self.limits.deadline)
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.config.url.clone();
        url.set_path(&format!(
            "{}/api/2.0/{path}",
            self.config.url.path().trim_end_matches('/')
        ));
        url.query_pairs_mut()
            .append_pair("apiKey", &self.config.api_key);
        url
    }

    pub async fn recordings_since(&self, start_ms: i64) -> Result<Vec<Recording>, NvrError> {
        let mut url = self.url("recording");
        url.query_pairs_mut()
            .append_pair("startTime", &start_ms.to_string())
            .append_pair("sortBy", "startTime")
            .append_pair("sort", "asc");
        let answer = self
            .http
            .get(url)
            .send()
            .await
            .map_err(self.failed("recordings"))?;
        if !answer.status().is_success() {
            return Err(NvrError::Status {
                what: "recordings",
                status: answer.status(),
            });
        }
        let listing: Listing = read_json(
            answer,
            "recordings",
            self.limits.list_bytes,
            self.limits.deadline,
        )
        .await?;
        Ok(listing.data)
    }

    /// Locks the recording so the NVR's retention keeps it.
    pub async fn lock(&self, recording_id: &str) -> Result<Vec<String>, NvrError> {
        let recording_id = checked_id(recording_id)?;
        let answer = self
            .http
            .put(self.url(&format!("recording/{recording_id}")))
            .json(&serde_json::json!({ "locked": true }))
            .send()
            .await
            .map_err(self.failed("lock"))?;
        if !answer.status().is_success() {
            return Err(NvrError::Status {
                what: "lock",
                status: answer.status(),
            });
        }
        Ok(vec!["unifi-video locked".to_string()])
    }

    pub fn base(&self) -> &Url {
        &self.config.url
    }

    pub fn locks(&self) -> bool {
        self.config.lock
    }

    async fn poll_once(
        &self,
        ctx: &SourceContext,
        name: &str,
        mark: &mut i64,
    ) -> Result<bool, NvrError> {
        let listed = finished(self.recordings_since(*mark - LOOKBACK_MS).await?);
        let recordings = at_most_logged(listed, self.limits.list_count, name);
        for rec in recordings {
            let id = job_id(&["unifi-video", self.config.url.as_str(), &rec.id]);
            if ctx.queue.is_known(&id) {
                continue;
            }
            let dest = ctx.queue.spool_path(&id);
            let job = Job::new(
                id,
                &rec.camera(),
                &format!("{}.mp4", rec.id),
                dest,
                true,
                Origin::UnifiVideo {
                    url: self.config.url.to_string(),
                    recording_id: rec.id.clone(),
                },
                now_secs(),
            );
            if !plain_segment(&rec.id) {
                refuse_id(ctx, name, &job, &rec.id);
                continue;
            }
            let deadline = self.limits.clip_deadline;
            let answer = self
                .http
                .get(self.url(&format!("recording/{}/download", rec.id)))
                .timeout(deadline)
                .send()
                .await
                .map_err(self.failed("clip"))?;
            let fetched = fetch_clip(ctx, name, &job, answer, &self.limits).await?;
            if fetched && !ctx.found(job).await {
                return Ok(false);
            }
            if rec.start_time > *mark {
                *mark = rec.start_time;
                let _ = ctx
                    .queue
                    .save_source_mark(name, &serde_json::json!({ "start_ms": *mark }));
            }
        }
        Ok(true)
    }

    async fn watch(self: Box<Self>, ctx: SourceContext) {
        let name = self.name();
        let mut mark = ctx
            .queue
            .source_mark(&name)
            .and_then(|v| v["start_ms"].as_i64())
            .unwrap_or_else(|| now_secs() * 1000);
        let mut reachability = Reachability::default();
        while reachability.note(
            &name,
            "unifi video",
            self.poll_once(&ctx, &name, &mut mark).await,
        ) {
            tokio::time::sleep(self.config.poll).await;
        }
    }
}

impl Source for UnifiVideo {
    fn name(&self) -> String {
        // The API key is in the query of `url()`, never in the name.
        format!("unifi-video:{}", self.config.url)
    }

    fn run(self: Box<Self>, ctx: SourceContext) -> SourceFuture {
        Box::pin(self.watch(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_parses_and_keeps_finished_recordings() {
        let body = r#"{"data":[
            {"_id":"b","cameras":["cam1"],"startTime":2000,"endTime":3000,"inProgress":false,"locked":false},
            {"_id":"a","cameras":["cam1"],"meta":{"cameraName":"Front Door"},"startTime":1000,"endTime":1500,"inProgress":false},
            {"_id":"c","cameras":["cam1"],"startTime":4000,"inProgress":true}
        ]}"#;
        let listing: Listing = serde_json::from_str(body).unwrap();
        let got = finished(listing.data);
        let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(got[0].camera(), "Front-Door");
        assert_eq!(got[1].camera(), "cam1");
    }
}
