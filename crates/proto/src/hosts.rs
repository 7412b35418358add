//! The hosts document (one JSON object in S3, `ddns.json`): which devices exist, where their
//! records live, how each proves its authority and what it may upload. Read by the ddns function
//! (records) and the clips function (upload grants, keyed by the same host name and secret), so it
//! lives here, pure serde and checks. Parsed in two stages: the raw serde shape, then a checked
//! form with real types. Errors name the host and the key.

use std::collections::{BTreeMap, HashMap};

use crate::hostname::normalize_fqdn;
use crate::Secret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The hosts document's key in the config bucket, unless the stack's `ConfigKey` (the functions'
/// `CONFIG_KEY`) names another.
pub const CONFIG_KEY: &str = "ddns.json";
pub const DEFAULT_TTL: i64 = 60;
const MIN_SECRET_LEN: usize = 16;
/// Largest clip a host may upload unless its `clips.max_size` says otherwise: 2 GiB.
pub const DEFAULT_CLIP_MAX_SIZE: u64 = 2 << 30;
/// Largest `clips.max_size` accepted: S3's own cap on one object (5 TiB) is far beyond any clip;
/// 50 GiB keeps a typo from granting it.
pub const CLIP_MAX_SIZE_LIMIT: u64 = 50 << 30;

/// Why a hosts document is refused; a host's own problem names the host (`hosts."pi.example"`).
#[derive(Debug, thiserror::Error)]
pub enum HostsError {
    #[error("not a ddns config document: {0}")]
    NotADocument(serde_json::Error),
    /// One host's key or value; `reason` names the key and the bad value.
    #[error("hosts.{host:?}: {reason}")]
    Host { host: String, reason: String },
    #[error("hosts.{host:?}: listed twice (names are case-insensitive)")]
    Duplicate { host: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    hosts: BTreeMap<String, RawHost>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    zone_id: String,
    zone: String,
    #[serde(default)]
    ttl: Option<i64>,
    #[serde(default)]
    record_types: Option<Vec<String>>,
    secret: Secret,
    #[serde(default)]
    dyndns2_user: Option<String>,
    #[serde(default)]
    dyndns2_password_sha256: Option<String>,
    #[serde(default)]
    allow_private: bool,
    #[serde(default)]
    legacy: bool,
    #[serde(default)]
    clips: Option<RawClips>,
    #[serde(default)]
    links: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClips {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    max_size: Option<u64>,
}

/// What a host may upload through the clips function. Off unless the document turns it on: a
/// device that only publishes records gets no way to write into S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClipSettings {
    pub enabled: bool,
    /// Bytes; a grant for a larger clip is refused.
    pub max_size: u64,
}

impl Default for ClipSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            max_size: DEFAULT_CLIP_MAX_SIZE,
        }
    }
}

/// One updatable hostname, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Normalised: lowercase, no trailing dot.
    pub name: String,
    /// Without the `/hostedzone/` prefix.
    pub zone_id: String,
    /// Normalised like `name`. A host outside its zone is refused per request, so one typo
    /// never takes the other hosts down.
    pub zone: String,
    pub ttl: i64,
    pub allow_a: bool,
    pub allow_aaaa: bool,
    pub secret: Secret,
    pub dyndns2_user: Option<String>,
    pub dyndns2_password_sha256: Option<[u8; 32]>,
    pub allow_private: bool,
    pub legacy: bool,
    pub clips: ClipSettings,
    /// The link names this device may report on `/v1/report` (each becomes billed metrics).
    pub links: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DdnsConfig {
    pub hosts: HashMap<String, HostConfig>,
}

impl DdnsConfig {
    /// Finds a host by any spelling of its name (case, trailing dot).
    pub fn host(&self, name: &str) -> Option<&HostConfig> {
        normalize_fqdn(name).and_then(|n| self.hosts.get(&n))
    }

    /// The hosts that dyndns2 credentials unlock: every host whose user (its own name unless
    /// `dyndns2_user` is set) and password both match. Empty means the caller is not
    /// authenticated, whatever hostnames it asked for, so an answer never tells a stranger which
    /// names exist. Every host with a password is compared, in constant time, whether or not the
    /// user matches: the time taken says nothing about which users or hosts exist.
    pub fn dyndns2_account(&self, user: &str, password: &str) -> Vec<&HostConfig> {
        let digest = Sha256::digest(password.as_bytes());
        // A configured user name is matched as written; a host name in any spelling.
        let as_hostname = normalize_fqdn(user).unwrap_or_default();
        let mut account = Vec::new();
        for host in self.hosts.values() {
            let Some(expected) = host.dyndns2_password_sha256 else {
                continue;
            };
            let user_ok = match &host.dyndns2_user {
                Some(configured) => user.as_bytes().ct_eq(configured.as_bytes()),
                None => as_hostname.as_bytes().ct_eq(host.name.as_bytes()),
            };
            let unlocked: Choice = user_ok & digest.as_slice().ct_eq(&expected);
            if bool::from(unlocked) {
                account.push(host);
            }
        }
        account
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, HostsError> {
        let raw: RawConfig = serde_json::from_slice(bytes).map_err(HostsError::NotADocument)?;
        let mut hosts = HashMap::new();
        for (name, raw_host) in raw.hosts {
            let host = check_host(&name, raw_host).map_err(|reason| HostsError::Host {
                host: name.clone(),
                reason,
            })?;
            if hosts.insert(host.name.clone(), host).is_some() {
                return Err(HostsError::Duplicate { host: name });
            }
        }
        Ok(Self { hosts })
    }
}

fn check_host(name: &str, raw: RawHost) -> Result<HostConfig, String> {
    let norm = normalize_fqdn(name).ok_or("the name is not a fully qualified domain name")?;
    let zone = normalize_fqdn(&raw.zone)
        .ok_or_else(|| format!("zone {:?} is not a domain name", raw.zone))?;
    let zone_id = raw
        .zone_id
        .trim()
        .trim_start_matches("/hostedzone/")
        .to_string();
    if zone_id.is_empty() || !zone_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("zone_id {:?} is not a hosted zone id", raw.zone_id));
    }
    let ttl = raw.ttl.unwrap_or(DEFAULT_TTL);
    if !(1..=86_400).contains(&ttl) {
        return Err(format!("ttl {ttl} is outside 1..=86400"));
    }
    let types = raw
        .record_types
        .unwrap_or_else(|| vec!["A".into(), "AAAA".into()]);
    let (mut allow_a, mut allow_aaaa) = (false, false);
    for t in &types {
        match t.to_ascii_uppercase().as_str() {
            "A" => allow_a = true,
            "AAAA" => allow_aaaa = true,
            other => return Err(format!("record_types: {other:?} is not A or AAAA")),
        }
    }
    if !allow_a && !allow_aaaa {
        return Err("record_types is empty".into());
    }
    if raw.secret.expose().len() < MIN_SECRET_LEN {
        return Err(format!(
            "secret is shorter than {MIN_SECRET_LEN} characters"
        ));
    }
    let dyndns2_password_sha256 = match raw.dyndns2_password_sha256 {
        None => None,
        Some(h) => {
            let bytes = hex::decode(h.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            Some(bytes.ok_or("dyndns2_password_sha256 is not 64 hex characters")?)
        }
    };
    let clips = match raw.clips {
        None => ClipSettings::default(),
        Some(c) => {
            let max_size = c.max_size.unwrap_or(DEFAULT_CLIP_MAX_SIZE);
            if !(1..=CLIP_MAX_SIZE_LIMIT).contains(&max_size) {
                return Err(format!(
                    "clips.max_size {max_size} is outside 1..={CLIP_MAX_SIZE_LIMIT}"
                ));
            }
            ClipSettings {
                enabled: c.enabled,
                max_size,
            }
        }
    };
    let links = match raw.links {
        None => crate::report::DEFAULT_LINKS.map(String::from).to_vec(),
        Some(links) => {
            if !(1..=crate::report::MAX_LINKS).contains(&links.len()) {
                return Err(format!(
                    "links lists {} names; 1 to {} are allowed",
                    links.len(),
                    crate::report::MAX_LINKS
                ));
            }
            for (i, name) in links.iter().enumerate() {
                if !crate::report::valid_name(name) || links[..i].contains(name) {
                    return Err(format!(
                        "links[{i}] {name:?} is not a new name of 1-{} A-Z a-z 0-9 - _",
                        crate::report::MAX_NAME_CHARS
                    ));
                }
            }
            links
        }
    };
    Ok(HostConfig {
        name: norm,
        zone_id,
        zone,
        ttl,
        allow_a,
        allow_aaaa,
        secret: raw.secret,
        dyndns2_user: raw.dyndns2_user,
        dyndns2_password_sha256,
        allow_private: raw.allow_private,
        legacy: raw.legacy,
        clips,
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(host: &str) -> String {
        format!(r#"{{"hosts": {{"wireless.home.example.com": {host}}}}}"#)
    }

    #[test]
    fn documents() {
        let good = r#"{"zone_id": "/hostedzone/Z1ABC", "zone": "home.example.com.", "secret": "0123456789abcdef"}"#;
        let cases = [
            ("minimal host", doc(good), Ok(())),
            (
                "unknown key",
                doc(r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "tll": 5}"#),
                Err("unknown field"),
            ),
            (
                "short secret",
                doc(r#"{"zone_id": "Z1", "zone": "a.b", "secret": "short"}"#),
                Err("secret is shorter"),
            ),
            (
                "bad type",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "record_types": ["MX"]}"#,
                ),
                Err("\"MX\" is not A or AAAA"),
            ),
            (
                "bad ttl",
                doc(r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "ttl": 0}"#),
                Err("ttl 0"),
            ),
            (
                "bad hash",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "dyndns2_password_sha256": "xyz"}"#,
                ),
                Err("64 hex"),
            ),
            (
                "bad zone id",
                doc(r#"{"zone_id": "Z1/../x", "zone": "a.b", "secret": "0123456789abcdef"}"#),
                Err("not a hosted zone id"),
            ),
            (
                "clips on with a cap",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "clips": {"enabled": true, "max_size": 1048576}}"#,
                ),
                Ok(()),
            ),
            (
                "clips cap of zero",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "clips": {"enabled": true, "max_size": 0}}"#,
                ),
                Err("clips.max_size 0"),
            ),
            (
                "clips unknown key",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "clips": {"enable": true}}"#,
                ),
                Err("unknown field"),
            ),
            (
                "own links",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "links": ["wired", "lte"]}"#,
                ),
                Ok(()),
            ),
            (
                "too many links",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "links": ["a", "b", "c", "d", "e"]}"#,
                ),
                Err("links lists 5 names"),
            ),
            (
                "a link listed twice",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "links": ["a", "a"]}"#,
                ),
                Err("links[1] \"a\""),
            ),
            (
                "a link name unsafe as a dimension",
                doc(
                    r#"{"zone_id": "Z1", "zone": "a.b", "secret": "0123456789abcdef", "links": ["a b"]}"#,
                ),
                Err("links[0]"),
            ),
            ("not json", "{".to_string(), Err("not a ddns config")),
            ("no hosts key", "{}".to_string(), Err("missing field")),
        ];
        for (name, input, want) in cases {
            let got = DdnsConfig::parse(input.as_bytes());
            match (got, want) {
                (Ok(_), Ok(())) => {}
                (Err(e), Err(fragment)) => {
                    let e = e.to_string();
                    assert!(e.contains(fragment), "{name}: {e:?} lacks {fragment:?}")
                }
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn the_shipped_sample_parses() {
        let cfg = DdnsConfig::parse(include_bytes!("../../../infra/ddns-config.sample.json"))
            .expect("sample is valid");
        let host = cfg.host("wireless.home.example.com");
        assert!(host.is_some());
        // Without a list, a device reports the watchdog's two links.
        assert!(cfg.hosts.values().all(|h| !h.links.is_empty()));
    }

    #[test]
    fn dyndns2_credentials_unlock_only_their_own_hosts() {
        let sha = |p: &str| hex::encode(Sha256::digest(p.as_bytes()));
        let doc = format!(
            r#"{{"hosts": {{
            "a.home.example.com": {{"zone_id": "Z1", "zone": "home.example.com", "secret": "0123456789abcdef",
                "dyndns2_password_sha256": "{pa}"}},
            "b.home.example.com": {{"zone_id": "Z1", "zone": "home.example.com", "secret": "0123456789abcdef",
                "dyndns2_user": "router", "dyndns2_password_sha256": "{pr}"}},
            "c.home.example.com": {{"zone_id": "Z1", "zone": "home.example.com", "secret": "0123456789abcdef",
                "dyndns2_user": "router", "dyndns2_password_sha256": "{pr}"}},
            "d.home.example.com": {{"zone_id": "Z1", "zone": "home.example.com", "secret": "0123456789abcdef"}}
            }}}}"#,
            pa = sha("pw-a"),
            pr = sha("pw-router"),
        );
        let config = DdnsConfig::parse(doc.as_bytes()).unwrap();
        let cases: [(&str, &str, &str, &[&str]); 8] = [
            (
                "host name as user",
                "a.home.example.com",
                "pw-a",
                &["a.home.example.com"],
            ),
            (
                "any spelling of the name",
                "A.Home.Example.COM.",
                "pw-a",
                &["a.home.example.com"],
            ),
            ("wrong password", "a.home.example.com", "pw-router", &[]),
            (
                "shared user unlocks both its hosts",
                "router",
                "pw-router",
                &["b.home.example.com", "c.home.example.com"],
            ),
            (
                "host name is not the user when one is set",
                "b.home.example.com",
                "pw-router",
                &[],
            ),
            ("unknown user", "nobody", "pw-a", &[]),
            ("no password configured", "d.home.example.com", "", &[]),
            ("empty credentials", "", "", &[]),
        ];
        for (name, user, password, want) in cases {
            let mut got: Vec<&str> = config
                .dyndns2_account(user, password)
                .iter()
                .map(|h| h.name.as_str())
                .collect();
            got.sort();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn defaults_and_lookup() {
        let cfg = DdnsConfig::parse(
            doc(r#"{"zone_id": "/hostedzone/Z1ABC", "zone": "Home.Example.com.", "secret": "0123456789abcdef"}"#).as_bytes(),
        )
        .unwrap();
        let host = cfg
            .host("WIRELESS.home.example.com.")
            .expect("found by any spelling");
        assert_eq!(
            (host.zone_id.as_str(), host.zone.as_str(), host.ttl),
            ("Z1ABC", "home.example.com", 60)
        );
        assert!(host.allow_a && host.allow_aaaa && !host.legacy && !host.allow_private);
        assert_eq!(
            host.clips,
            ClipSettings::default(),
            "clips are off unless turned on"
        );
        assert!(!host.clips.enabled);
        assert!(format!("{host:?}").contains("<redacted>"));
        assert!(!format!("{host:?}").contains("0123456789abcdef"));
    }
}
