//! The HTTP adapter: turns an API Gateway (HTTP API, payload 2.0) request into a call of the
//! service and its result into the answer each protocol expects. Never fails: every error is an
//! answer.

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine;
use failberry_aws::DocumentSource;
use failberry_proto::address::Addresses;
use failberry_proto::dyndns2::{self, Answer};
use failberry_proto::hostname::normalize_fqdn;
use failberry_proto::legacy::{self, LegacyAnswer, LegacyRequest};
use failberry_proto::paths;
use failberry_proto::signing::{self, SignedRequest};
use failberry_proto::update::MAX_BODY_BYTES;
use failberry_proto::{MyIpResponse, UpdateRequest, UpdateResponse, UpdateStatus};
use lambda_http::http::Method;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::dns::DnsStore;
use crate::error::{json_response, text_response, ApiError};
use crate::metric_log::MetricLog;
use crate::replay::{ReplayGuard, Stamp};
use crate::service::Ddns;
use failberry_proto::hosts::HostConfig;
use failberry_proto::Clock;

impl<D: DnsStore, R: ReplayGuard, S: DocumentSource, K: Clock, L: MetricLog> Ddns<D, R, S, K, L> {
    /// The Lambda handler body.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let now = self.clock.unix_secs();
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let result = match (path.as_str(), &method) {
            (paths::MYIP, &Method::GET) => {
                source_ip(&req).map(|ip| json_response(200, &MyIpResponse { ip, time: now }))
            }
            (paths::UPDATE, &Method::POST) => self.signed_update(&req, now).await,
            (paths::REPORT, &Method::POST) => self.signed_report(&req, now).await,
            (paths::NIC_UPDATE, &Method::GET) => Ok(self.dyndns2(&req).await),
            (paths::LEGACY_ROOT, &Method::POST) => Ok(self.legacy_post(&req).await),
            (paths::LEGACY_ROOT, &Method::GET) => Ok(self.legacy_get(&req).await),
            (
                paths::MYIP
                | paths::UPDATE
                | paths::REPORT
                | paths::NIC_UPDATE
                | paths::LEGACY_ROOT,
                _,
            ) => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound),
        };
        result.unwrap_or_else(|e| {
            tracing::info!(method = %method, path = %path, status = e.status(), error = %e.code(), reason = %e, detail = ?e, "request refused");
            e.into_response(now)
        })
    }

    async fn signed_update(&self, req: &Request, now: i64) -> Result<Response<Body>, ApiError> {
        let config = self.config().await?;
        let (host, update) =
            signing::open::<UpdateRequest>(&config, &signed_request(req, paths::UPDATE), now)?;
        let hostname = normalize_fqdn(&update.hostname)
            .ok_or_else(|| ApiError::NotFqdn(update.hostname.clone()))?;
        if hostname != host.name {
            return Err(ApiError::HostMismatch {
                key_id: host.name.clone(),
                hostname,
            });
        }
        let mut desired = Addresses {
            ipv4: update.ipv4,
            ipv6: update.ipv6,
        };
        if desired.is_empty() {
            desired = from_source(source_ip(req)?);
        }
        let applied = self
            .apply(host, desired, Stamp::Signed(update.timestamp))
            .await?;
        let answer = UpdateResponse {
            status: applied.status,
            hostname: host.name.clone(),
            ipv4: applied.ipv4,
            ipv6: applied.ipv6,
            change_id: applied.change_id,
            time: now,
        };
        Ok(json_response(200, &answer))
    }

    /// dyndns2: authenticate first (a stranger learns nothing, not even which names exist),
    /// bound the list, then one Route53 read per distinct host, answered one line per name.
    async fn dyndns2(&self, req: &Request) -> Response<Body> {
        let Some((user, password)) = basic_auth(req) else {
            let mut resp = text_response(401, Answer::BadAuth.to_string());
            resp.headers_mut().insert(
                "www-authenticate",
                "Basic realm=\"failberry\"".parse().expect("static header"),
            );
            return resp;
        };
        let query = req.query_string_parameters();
        // A parameter may come repeated (`myip=v4&myip=v6`) as well as comma-separated: take all.
        let all = |name: &str| query.all(name).map(|v| v.join(","));
        let hostname_param = all("hostname").unwrap_or_default();
        let hostnames = dyndns2::split_hostnames(&hostname_param);
        let lines = |answer: Answer| {
            text_response(
                200,
                vec![answer.to_string(); hostnames.len().max(1)].join("\n"),
            )
        };
        if hostnames.len() > dyndns2::MAX_HOSTNAMES {
            tracing::info!(listed = hostnames.len(), "dyndns2 answered numhost");
            return text_response(200, Answer::NumHost.to_string());
        }
        let config = match self.config().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "dyndns2 answered 911");
                return lines(Answer::ServerError);
            }
        };
        let account = config.dyndns2_account(&user, &password);
        if account.is_empty() {
            tracing::info!(listed = hostnames.len(), "dyndns2 credentials refused");
            return lines(Answer::BadAuth);
        }
        if hostnames.is_empty() {
            return lines(Answer::NotFqdn);
        }
        let mut desired =
            match dyndns2::parse_myip(all("myip").as_deref(), all("myipv6").as_deref()) {
                Ok(a) => a,
                Err(reason) => {
                    tracing::info!(reason = %reason, "dyndns2 address refused");
                    return lines(Answer::DnsErr);
                }
            };
        if desired.is_empty() {
            match source_ip(req) {
                Ok(ip) => desired = from_source(ip),
                Err(e) => return e.into_response(self.clock.unix_secs()),
            }
        }
        let mut answered: HashMap<String, Answer> = HashMap::new();
        let mut out = Vec::with_capacity(hostnames.len());
        for raw in hostnames {
            let answer = match normalize_fqdn(raw) {
                None => Answer::NotFqdn,
                Some(name) => match answered.get(&name) {
                    Some(answer) => answer.clone(),
                    None => {
                        let answer = match account.iter().find(|h| h.name == name) {
                            None => Answer::NoHost,
                            Some(host) => self.dyndns2_apply(host, desired).await,
                        };
                        answered.insert(name, answer.clone());
                        answer
                    }
                },
            };
            tracing::info!(host = raw, answer = %answer, "dyndns2 answer");
            out.push(answer.to_string());
        }
        text_response(200, out.join("\n"))
    }

    async fn dyndns2_apply(&self, host: &HostConfig, desired: Addresses) -> Answer {
        let stamp = Stamp::Server(self.clock.unix_secs());
        match self.apply(host, desired, stamp).await {
            Ok(a) => {
                let shown = Addresses {
                    ipv4: a.ipv4,
                    ipv6: a.ipv6,
                };
                match a.status {
                    UpdateStatus::Updated => Answer::Good(shown),
                    UpdateStatus::Unchanged => Answer::NoChange(shown),
                }
            }
            Err(e) => e.dyndns2(),
        }
    }

    async fn legacy_post(&self, req: &Request) -> Response<Body> {
        let parsed = body_bytes(req)
            .ok()
            .and_then(|b| serde_json::from_slice::<LegacyRequest>(&b).ok());
        let Some(request) = parsed else {
            return legacy_response(
                400,
                LegacyAnswer::fail("You must pass mode=get or mode=set arguments."),
            );
        };
        let (status, answer) = self
            .legacy(
                req,
                request.execution_mode.as_deref(),
                request.ddns_hostname.as_deref(),
                request.validation_hash.as_deref(),
            )
            .await;
        legacy_response(status, answer)
    }

    /// The older `?mode=` form always answered 200, as the REST API integration did.
    async fn legacy_get(&self, req: &Request) -> Response<Body> {
        let query = req.query_string_parameters();
        let (_, answer) = self
            .legacy(
                req,
                query.first("mode"),
                query.first("hostname"),
                query.first("hash"),
            )
            .await;
        legacy_response(200, answer)
    }

    async fn legacy(
        &self,
        req: &Request,
        mode: Option<&str>,
        hostname: Option<&str>,
        hash: Option<&str>,
    ) -> (u16, LegacyAnswer) {
        let ip = match source_ip(req) {
            Ok(ip) => ip,
            Err(e) => return (400, LegacyAnswer::fail(e.to_string())),
        };
        match mode {
            Some("get") => return (200, LegacyAnswer::success(ip.to_string())),
            Some("set") => {}
            _ => {
                return (
                    400,
                    LegacyAnswer::fail("You must pass mode=get or mode=set arguments."),
                )
            }
        }
        let hostname = hostname.unwrap_or_default();
        let config = match self.config().await {
            Ok(c) => c,
            Err(e) => return (500, LegacyAnswer::fail(e.to_string())),
        };
        let Some(host) = config.host(hostname).filter(|h| h.legacy) else {
            return (
                403,
                LegacyAnswer::fail(format!(
                    "There was an issue finding or reading {hostname} configuration."
                )),
            );
        };
        let hash = hash.unwrap_or_default();
        if !legacy::looks_like_sha256(hash) {
            return (
                400,
                LegacyAnswer::fail("You must pass a valid sha256 hash in the hash= argument."),
            );
        }
        if !legacy::hash_matches(hash, &ip.to_string(), hostname, host.secret.expose()) {
            return (401, LegacyAnswer::fail("Validation hashes do not match."));
        }
        match self
            .apply(host, from_source(ip), Stamp::Server(self.clock.unix_secs()))
            .await
        {
            Ok(a) if a.status == UpdateStatus::Updated => (
                201,
                LegacyAnswer::success(format!("{hostname} has been updated to {ip}")),
            ),
            Ok(_) => (
                200,
                LegacyAnswer::success("Your IP address matches the current Route53 DNS record."),
            ),
            Err(e) => (e.status(), LegacyAnswer::fail(e.to_string())),
        }
    }
}

fn legacy_response(status: u16, answer: LegacyAnswer) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(answer.to_body()))
        .expect("static status and header are valid")
}

fn from_source(ip: IpAddr) -> Addresses {
    match ip {
        IpAddr::V4(v4) => Addresses {
            ipv4: Some(v4),
            ipv6: None,
        },
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => Addresses {
                ipv4: Some(v4),
                ipv6: None,
            },
            None => Addresses {
                ipv4: None,
                ipv6: Some(v6),
            },
        },
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The request as the shared door (`proto::signing::open`) reads it.
pub(crate) fn signed_request<'a>(req: &'a Request, path: &'a str) -> SignedRequest<'a> {
    SignedRequest::new(
        req.method().as_str(),
        path,
        |name| header(req, name),
        req.body().as_ref(),
    )
}

fn body_bytes(req: &Request) -> Result<Vec<u8>, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    Ok(bytes.to_vec())
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`).
fn source_ip(req: &Request) -> Result<IpAddr, ApiError> {
    let raw = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    raw.as_deref()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::Malformed("the request carries no source address".into()))
}

fn basic_auth(req: &Request) -> Option<(String, String)> {
    let value = header(req, "authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
