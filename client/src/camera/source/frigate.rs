//! The Frigate source and its marks, from Frigate's HTTP API document
//! (docs.frigate.video/integrations/api): finished events with a clip since the last seen
//! (`GET /api/events?has_clip=1&in_progress=0&after=`), each clip from
//! `GET /api/events/<id>/clip.mp4` into the spool; on the authenticated port a JWT from
//! `POST /api/login` (sent back as the `frigate_token` cookie and as a bearer token), on the
//! internal port none. Marks: `POST /api/events/<id>/sub_label` and `POST /api/events/<id>/retain`.
//! Polled: the MQTT `frigate/events` wake-up is not built (polling every few seconds costs one
//! small request; MQTT would need a client crate and a broker to test against).

use std::sync::Mutex;

use serde::Deserialize;
use url::Url;

use super::{
    at_most_logged, checked_id, fetch_clip, now_secs, nvr_http, plain_segment, read_json,
    refuse_id, NvrError, NvrLimits, Reachability, Source, SourceContext, SourceFuture,
};
use crate::camera::queue::{job_id, Job, Origin};
use crate::config::FrigateSource;

/// Events are asked from this long before the last one seen: one that started earlier but
/// finished later is not missed (the queue's markers skip those already taken).
const LOOKBACK_SECS: f64 = 3600.0;

#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    pub camera: String,
    #[serde(default)]
    pub label: String,
    pub start_time: f64,
    pub end_time: Option<f64>,
    #[serde(default)]
    pub has_clip: bool,
}

/// The events worth taking, oldest first: finished, with a clip.
pub fn finished(mut events: Vec<Event>) -> Vec<Event> {
    events.retain(|e| e.has_clip && e.end_time.is_some());
    events.sort_by(|a, b| a.start_time.total_cmp(&b.start_time));
    events
}

/// A client of one Frigate: login when configured, the token kept and renewed on a 401.
pub struct Frigate {
    config: FrigateSource,
    http: reqwest::Client,
    limits: NvrLimits,
    token: Mutex<Option<String>>,
}

impl Frigate {
    pub fn new(config: FrigateSource) -> Self {
        Self::with_limits(config, NvrLimits::default())
    }

    pub fn with_limits(config: FrigateSource, limits: NvrLimits) -> Self {
        Self {
            http: nvr_http(&config.url, &limits),
            config,
            limits,
            token: Mutex::new(None),
        }
    }

    fn failed(&self, what: &'static str) -> impl Fn(reqwest::Error) -> NvrError {
        NvrError::http(what, self.limits.deadline)
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.config.url.clone();
        url.set_path(&format!(
            "{}{path}",
            self.config.url.path().trim_end_matches('/')
        ));
        url
    }

    async fn login(&self) -> Result<(), NvrError> {
        let Some((user, password)) = &self.config.login else {
            return Ok(());
        };
        let answer = self
            .http
            .post(self.url("/api/login"))
            .json(&serde_json::json!({ "user": user, "password": password }))
            .send()
            .await
            .map_err(self.failed("login"))?;
        if !answer.status().is_success() {
            return Err(NvrError::Status {
                what: "login",
                status: answer.status(),
            });
        }
        let token = answer
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("frigate_token="))
            .map(|c| c.split(';').next().unwrap_or_default().to_string())
            .ok_or(NvrError::NoToken)?;
        *self.token.lock().expect("not poisoned") = Some(token);
        Ok(())
    }

    fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match self.token.lock().expect("not poisoned").clone() {
            Some(token) => request
                .header(reqwest::header::COOKIE, format!("frigate_token={token}"))
                .bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request built by `make`, logging in first (or again after a 401).
    async fn send(
        &self,
        what: &'static str,
        make: impl Fn(&Self) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, NvrError> {
        if self.config.login.is_some() && self.token.lock().expect("not poisoned").is_none() {
            self.login().await?;
        }
        let answer = make(self).send().await.map_err(self.failed(what))?;
        if answer.status() == reqwest::StatusCode::UNAUTHORIZED && self.config.login.is_some() {
            self.login().await?;
            return make(self).send().await.map_err(self.failed(what));
        }
        Ok(answer)
    }

    pub async fn events_after(&self, after: f64) -> Result<Vec<Event>, NvrError> {
        let mut url = self.url("/api/events");
        url.query_pairs_mut()
            .append_pair("has_clip", "1")
            .append_pair("in_progress", "0")
            .append_pair("after", &format!("{after:.3}"))
            .append_pair("limit", "100");
        let answer = self
            .send("events", |s| s.request(reqwest::Method::GET, url.clone()))
            .await?;
        if !answer.status().is_success() {
            return Err(NvrError::Status {
                what: "events",
                status: answer.status(),
            });
        }
        read_json(
            answer,
            "events",
            self.limits.list_bytes,
            self.limits.deadline,
        )
        .await
    }

    /// Sets the sub label (label and score) and, when asked, retains the event.
    pub async fn mark(
        &self,
        event_id: &str,
        label: &str,
        score: f32,
    ) -> Result<Vec<String>, NvrError> {
        let event_id = checked_id(event_id)?;
        let mut marks = Vec::new();
        let url = self.url(&format!("/api/events/{event_id}/sub_label"));
        let body = serde_json::json!({ "subLabel": label, "subLabelScore": score });
        let answer = self
            .send("sub_label", |s| {
                s.request(reqwest::Method::POST, url.clone()).json(&body)
            })
            .await?;
        if !answer.status().is_success() {
            return Err(NvrError::Status {
                what: "sub_label",
                status: answer.status(),
            });
        }
        marks.push(format!("frigate sub_label {label:?} ({score:.2})"));
        if self.config.retain {
            let url = self.url(&format!("/api/events/{event_id}/retain"));
            let answer = self
                .send("retain", |s| s.request(reqwest::Method::POST, url.clone()))
                .await?;
            if !answer.status().is_success() {
                return Err(NvrError::Status {
                    what: "retain",
                    status: answer.status(),
                });
            }
            marks.push("frigate retain".to_string());
        }
        Ok(marks)
    }

    pub fn base(&self) -> &Url {
        &self.config.url
    }

    async fn poll_once(
        &self,
        ctx: &SourceContext,
        name: &str,
        mark: &mut f64,
    ) -> Result<bool, NvrError> {
        let listed = finished(self.events_after(*mark - LOOKBACK_SECS).await?);
        let events = at_most_logged(listed, self.limits.list_count, name);
        for event in events {
            let id = job_id(&["frigate", self.config.url.as_str(), &event.id]);
            if ctx.queue.is_known(&id) {
                continue;
            }
            let dest = ctx.queue.spool_path(&id);
            let job = Job::new(
                id,
                &crate::camera::queue::safe_name(&event.camera),
                &format!("{}.mp4", event.id),
                dest,
                true,
                Origin::Frigate {
                    url: self.config.url.to_string(),
                    event_id: event.id.clone(),
                },
                now_secs(),
            );
            if !plain_segment(&event.id) {
                refuse_id(ctx, name, &job, &event.id);
                continue;
            }
            let url = self.url(&format!("/api/events/{}/clip.mp4", event.id));
            let deadline = self.limits.clip_deadline;
            let answer = self
                .send("clip", |s| {
                    s.request(reqwest::Method::GET, url.clone())
                        .timeout(deadline)
                })
                .await?;
            let fetched = fetch_clip(ctx, name, &job, answer, &self.limits).await?;
            if fetched && !ctx.found(job).await {
                return Ok(false);
            }
            if event.start_time > *mark {
                *mark = event.start_time;
                let _ = ctx
                    .queue
                    .save_source_mark(name, &serde_json::json!({ "after": *mark }));
            }
        }
        Ok(true)
    }

    async fn watch(self: Box<Self>, ctx: SourceContext) {
        let name = self.name();
        let mut mark = ctx
            .queue
            .source_mark(&name)
            .and_then(|v| v["after"].as_f64())
            .unwrap_or_else(|| now_secs() as f64);
        let mut reachability = Reachability::default();
        while reachability.note(
            &name,
            "frigate",
            self.poll_once(&ctx, &name, &mut mark).await,
        ) {
            tokio::time::sleep(self.config.poll).await;
        }
    }
}

impl Source for Frigate {
    fn name(&self) -> String {
        format!("frigate:{}", self.config.url)
    }

    fn run(self: Box<Self>, ctx: SourceContext) -> SourceFuture {
        Box::pin(self.watch(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_events_with_clips_oldest_first() {
        let e = |id: &str, start, end: Option<f64>, clip| Event {
            id: id.into(),
            camera: "front".into(),
            label: "person".into(),
            start_time: start,
            end_time: end,
            has_clip: clip,
        };
        let got = finished(vec![
            e("late", 20.0, Some(25.0), true),
            e("running", 30.0, None, true),
            e("no clip", 5.0, Some(6.0), false),
            e("early", 10.0, Some(12.0), true),
        ]);
        let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["early", "late"]);
    }
}
