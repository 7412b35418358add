//! Configuration: the TOML file as written (`RawConfig`, unknown keys refused), the values given
//! by flags or environment (`Overrides`), and the checked configs with real types the commands run
//! on (`DdnsConfig`, `HealthConfig`). Precedence: flag/env > file > default.

use std::collections::BTreeMap;
use std::fmt;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{DdnsSettings, HealthSettings};
use failberry_proto::hostname::normalize_fqdn;
use failberry_proto::Secret;
use serde::Deserialize;
use url::Url;

pub const DEFAULT_STATE_FILE: &str = "/var/lib/failberry/ddns-state.json";
pub const DEFAULT_INTERVAL_SECS: u64 = 60;
pub const DEFAULT_REFRESH_DAYS: u64 = 3;
pub const DEFAULT_HEALTH_LISTEN: &str = "0.0.0.0:9000";
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_WRITE_TIMEOUT_SECS: u64 = 10;
/// More connections than this would need more file descriptors than a Pi should hand out.
const MAX_MAX_CONNECTIONS: usize = 1_000_000;
/// Links shown by `/status`; a handful is plenty, and it bounds the work of one request.
const MAX_LINKS: usize = 16;
/// Shorter secrets are refused: the HMAC is only as strong as its key.
pub const MIN_SECRET_CHARS: usize = 16;
/// Linux interface names are at most IFNAMSIZ - 1 bytes.
const MAX_INTERFACE_NAME: usize = 15;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid config file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key} is not set (config file, {flag} or {env})")]
    Missing {
        key: &'static str,
        flag: &'static str,
        env: &'static str,
    },
    #[error("{key} = {value:?}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
}

fn invalid(key: &'static str, value: impl fmt::Display, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub ddns: RawDdns,
    #[serde(default)]
    pub health: RawHealth,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDdns {
    pub hostname: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub ipv4: Option<String>,
    pub ipv4_interface: Option<String>,
    pub ipv4_file: Option<PathBuf>,
    pub ipv6: Option<String>,
    pub ipv6_interface: Option<String>,
    pub state_file: Option<PathBuf>,
    pub interval_secs: Option<u64>,
    pub refresh_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub listen: Option<String>,
    pub max_connections: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub write_timeout_secs: Option<u64>,
    /// Link name → interface, e.g. `{ wired = "eth0", wireless = "wwan0" }`.
    pub links: Option<BTreeMap<String, String>>,
}

/// Values from flags or environment variables, as clap parsed them; each one set wins over the
/// file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub api_url: Option<String>,
    pub ddns: DdnsSettings,
    /// `ddns watch --interval`.
    pub interval_secs: Option<u64>,
    pub health: HealthSettings,
}

impl RawConfig {
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }

    /// Reads the file; a missing file is an empty config (flags and environment may suffice).
    /// Returns whether the file existed.
    pub fn load(path: &Path) -> Result<(Self, bool), ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(&text, path)?, true)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok((Self::default(), false)),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

/// Where the IPv4 address to publish comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Source {
    /// Ask the API's `/v1/myip`; with an interface, the API requests are bound to it.
    MyIp {
        interface: Option<String>,
    },
    /// Read the interface's IPv4 address.
    Interface(String),
    /// Read the first line of a file.
    File(PathBuf),
    Off,
}

/// Where the IPv6 address to publish comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv6Source {
    /// The interface's stable global address.
    Interface(String),
    Off,
}

/// Everything `ddns update` and `ddns watch` need, checked.
#[derive(Debug, Clone)]
pub struct DdnsConfig {
    pub api_url: Url,
    /// Normalised (lowercase, no trailing dot); also the key id of signed requests.
    pub hostname: String,
    pub secret: Secret,
    pub ipv4: Ipv4Source,
    pub ipv6: Ipv6Source,
    pub state_file: PathBuf,
    pub interval: Duration,
    pub refresh_after: Duration,
}

impl DdnsConfig {
    /// Lays `overrides` over `file` and checks every value.
    pub fn build(file: RawConfig, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw = file.ddns;
        let flags = &overrides.ddns;
        let api_url = pick(&overrides.api_url, file.api.url).ok_or(ConfigError::Missing {
            key: "api.url",
            flag: "--api-url",
            env: "FAILBERRY_API_URL",
        })?;
        let api_url = check_url(&api_url)?;

        let hostname = pick(&flags.hostname, raw.hostname).ok_or(ConfigError::Missing {
            key: "ddns.hostname",
            flag: "--hostname",
            env: "FAILBERRY_HOSTNAME",
        })?;
        let hostname = normalize_fqdn(&hostname).ok_or_else(|| {
            invalid(
                "ddns.hostname",
                &hostname,
                "not a fully qualified domain name",
            )
        })?;

        // The secret and its file are one setting: the layer that names either one decides.
        let (secret, secret_file) = if flags.secret.is_some() || flags.secret_file.is_some() {
            (flags.secret.clone(), flags.secret_file.clone())
        } else {
            (raw.secret, raw.secret_file)
        };
        let secret = match (secret, secret_file) {
            (Some(_), Some(path)) => {
                return Err(invalid(
                    "ddns.secret_file",
                    path.display(),
                    "set either ddns.secret or ddns.secret_file, not both",
                ))
            }
            (Some(secret), None) => check_secret("ddns.secret", secret)?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    invalid(
                        "ddns.secret_file",
                        path.display(),
                        format!("unreadable: {e}"),
                    )
                })?;
                check_secret("ddns.secret_file", text.trim().to_string())?
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    key: "ddns.secret or ddns.secret_file",
                    flag: "--secret/--secret-file",
                    env: "FAILBERRY_SECRET/FAILBERRY_SECRET_FILE",
                })
            }
        };

        let ipv4_interface = pick(&flags.ipv4_interface, raw.ipv4_interface)
            .map(|name| check_interface("ddns.ipv4_interface", name))
            .transpose()?;
        let ipv4_file = pick(&flags.ipv4_file, raw.ipv4_file);
        let ipv4 = match pick(&flags.ipv4, raw.ipv4).as_deref().unwrap_or("myip") {
            "myip" => Ipv4Source::MyIp {
                interface: ipv4_interface,
            },
            "interface" => Ipv4Source::Interface(ipv4_interface.ok_or(ConfigError::Missing {
                key: "ddns.ipv4_interface (needed by ddns.ipv4 = \"interface\")",
                flag: "--ipv4-interface",
                env: "FAILBERRY_IPV4_INTERFACE",
            })?),
            "file" => Ipv4Source::File(ipv4_file.ok_or(ConfigError::Missing {
                key: "ddns.ipv4_file (needed by ddns.ipv4 = \"file\")",
                flag: "--ipv4-file",
                env: "FAILBERRY_IPV4_FILE",
            })?),
            "off" => Ipv4Source::Off,
            other => {
                return Err(invalid(
                    "ddns.ipv4",
                    other,
                    "expected myip, interface, file or off",
                ))
            }
        };

        let ipv6_interface = pick(&flags.ipv6_interface, raw.ipv6_interface)
            .map(|name| check_interface("ddns.ipv6_interface", name))
            .transpose()?;
        let ipv6 = match pick(&flags.ipv6, raw.ipv6).as_deref().unwrap_or("off") {
            "interface" => Ipv6Source::Interface(ipv6_interface.ok_or(ConfigError::Missing {
                key: "ddns.ipv6_interface (needed by ddns.ipv6 = \"interface\")",
                flag: "--ipv6-interface",
                env: "FAILBERRY_IPV6_INTERFACE",
            })?),
            "off" => Ipv6Source::Off,
            other => return Err(invalid("ddns.ipv6", other, "expected interface or off")),
        };
        if ipv4 == Ipv4Source::Off && ipv6 == Ipv6Source::Off {
            return Err(invalid(
                "ddns.ipv4",
                "off",
                "ddns.ipv4 and ddns.ipv6 are both off: there is nothing to publish",
            ));
        }

        let state_file = state_file(&flags.state_file, raw.state_file)?;

        let interval_secs =
            pick(&overrides.interval_secs, raw.interval_secs).unwrap_or(DEFAULT_INTERVAL_SECS);
        if !(5..=86_400).contains(&interval_secs) {
            return Err(invalid(
                "ddns.interval_secs",
                interval_secs,
                "must be between 5 and 86400 seconds",
            ));
        }
        let refresh_days =
            pick(&flags.refresh_days, raw.refresh_days).unwrap_or(DEFAULT_REFRESH_DAYS);
        if !(1..=365).contains(&refresh_days) {
            return Err(invalid(
                "ddns.refresh_days",
                refresh_days,
                "must be between 1 and 365 days",
            ));
        }

        Ok(Self {
            api_url,
            hostname,
            secret,
            ipv4,
            ipv6,
            state_file,
            interval: Duration::from_secs(interval_secs),
            refresh_after: Duration::from_secs(refresh_days * 86_400),
        })
    }

    /// The interface API requests are bound to, if any.
    pub fn bind_interface(&self) -> Option<&str> {
        match &self.ipv4 {
            Ipv4Source::MyIp { interface } => interface.as_deref(),
            _ => None,
        }
    }
}

/// Everything `health serve` needs, checked. Nothing from `[api]` and no secret: the endpoint
/// runs on a Pi whose DDNS is configured elsewhere, or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    pub listen: SocketAddr,
    pub max_connections: usize,
    /// A connection must deliver a complete request head within this long of opening, or of its
    /// previous response: it bounds slow clients and idle keep-alive connections alike.
    pub header_timeout: Duration,
    /// A response write that makes no progress (a client that stopped reading) is abandoned
    /// after this long.
    pub write_timeout: Duration,
    /// Link name → interface, reported by `/status`.
    pub links: BTreeMap<String, String>,
    /// The ddns state file whose last acknowledgement `/status` reports; a missing file is fine.
    pub ddns_state_file: PathBuf,
}

impl HealthConfig {
    /// Lays `overrides` over `file` and checks every value.
    pub fn build(file: RawConfig, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw = file.health;
        let flags = &overrides.health;
        let listen =
            pick(&flags.listen, raw.listen).unwrap_or_else(|| DEFAULT_HEALTH_LISTEN.to_string());
        let listen = listen.trim().parse::<SocketAddr>().map_err(|_| {
            invalid(
                "health.listen",
                &listen,
                "expected an address and a port, e.g. 0.0.0.0:9000 or [::]:9000",
            )
        })?;

        let max_connections =
            pick(&flags.max_connections, raw.max_connections).unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if !(1..=MAX_MAX_CONNECTIONS).contains(&max_connections) {
            return Err(invalid(
                "health.max_connections",
                max_connections,
                format!("must be between 1 and {MAX_MAX_CONNECTIONS}"),
            ));
        }
        let header_timeout = check_timeout(
            "health.header_timeout_secs",
            pick(&flags.header_timeout, raw.header_timeout_secs)
                .unwrap_or(DEFAULT_HEADER_TIMEOUT_SECS),
        )?;
        let write_timeout = check_timeout(
            "health.write_timeout_secs",
            pick(&flags.write_timeout, raw.write_timeout_secs)
                .unwrap_or(DEFAULT_WRITE_TIMEOUT_SECS),
        )?;

        // Like the secret, the links are one setting: the layer that names any link decides.
        let links = match Some(&flags.links).filter(|pairs| !pairs.is_empty()) {
            Some(pairs) => {
                let mut links = BTreeMap::new();
                for pair in pairs {
                    let (name, interface) = pair.split_once('=').ok_or_else(|| {
                        invalid(
                            "health.links",
                            pair,
                            "expected NAME=INTERFACE, e.g. wired=eth0",
                        )
                    })?;
                    if links
                        .insert(name.trim().to_string(), interface.trim().to_string())
                        .is_some()
                    {
                        return Err(invalid("health.links", pair, "names a link twice"));
                    }
                }
                links
            }
            None => raw.links.unwrap_or_default(),
        };
        if links.len() > MAX_LINKS {
            return Err(invalid(
                "health.links",
                links.len(),
                format!("at most {MAX_LINKS} links"),
            ));
        }
        let links = links
            .into_iter()
            .map(|(name, interface)| {
                let ok = !name.is_empty()
                    && name.len() <= 32
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    return Err(invalid(
                        "health.links",
                        &name,
                        "a link name is 1-32 letters, digits, '_' or '-'",
                    ));
                }
                Ok((name, check_interface("health.links", interface)?))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;

        let ddns_state_file = state_file(&flags.state_file, file.ddns.state_file)?;

        Ok(Self {
            listen,
            max_connections,
            header_timeout,
            write_timeout,
            links,
            ddns_state_file,
        })
    }
}

/// `ddns.state_file`, read by `ddns` and shown by `health serve`'s `/status`: one rule for both.
fn state_file(flag: &Option<PathBuf>, file: Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    let path = pick(flag, file).unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_FILE));
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return Err(invalid(
            "ddns.state_file",
            path.display(),
            "not a file path",
        ));
    }
    Ok(path)
}

fn check_timeout(key: &'static str, secs: u64) -> Result<Duration, ConfigError> {
    if !(1..=3600).contains(&secs) {
        return Err(invalid(key, secs, "must be between 1 and 3600 seconds"));
    }
    Ok(Duration::from_secs(secs))
}

fn pick<T: Clone>(flag: &Option<T>, file: Option<T>) -> Option<T> {
    flag.clone().or(file)
}

fn check_url(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim()).map_err(|e| invalid("api.url", text, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "api.url",
            text,
            "must be an http:// or https:// URL",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("api.url", text, "has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "api.url",
            text,
            "must not carry a query or a fragment",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("api.url", text, "must not carry credentials"));
    }
    Ok(url)
}

fn check_secret(key: &'static str, secret: String) -> Result<Secret, ConfigError> {
    let chars = secret.chars().count();
    if chars < MIN_SECRET_CHARS {
        // The value itself is never shown.
        return Err(invalid(
            key,
            "<redacted>",
            format!("the secret has {chars} characters, at least {MIN_SECRET_CHARS} are needed"),
        ));
    }
    Ok(Secret::new(secret))
}

fn check_interface(key: &'static str, name: String) -> Result<String, ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_INTERFACE_NAME
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if !ok {
        return Err(invalid(
            key,
            &name,
            format!(
                "not an interface name (1-{MAX_INTERFACE_NAME} visible characters, no '/' or ':')"
            ),
        ));
    }
    Ok(name)
}

impl fmt::Display for Ipv4Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ipv4Source::MyIp { interface: None } => f.write_str("myip"),
            Ipv4Source::MyIp {
                interface: Some(name),
            } => write!(f, "myip via {name}"),
            Ipv4Source::Interface(name) => write!(f, "interface {name}"),
            Ipv4Source::File(path) => write!(f, "file {}", path.display()),
            Ipv4Source::Off => f.write_str("off"),
        }
    }
}

impl fmt::Display for Ipv6Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ipv6Source::Interface(name) => write!(f, "interface {name}"),
            Ipv6Source::Off => f.write_str("off"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "demo-secret-change-me-0123456789";

    fn full_file() -> String {
        format!(
            r#"
[api]
url = "https://abc.execute-api.eu-west-1.amazonaws.com"
[ddns]
hostname = "Wireless.Home.Example.com."
secret = "{SECRET}"
ipv4 = "myip"
ipv4_interface = "wwan0"
ipv6 = "interface"
ipv6_interface = "wwan0"
state_file = "/tmp/state.json"
interval_secs = 30
refresh_days = 2
"#
        )
    }

    fn build(text: &str, overrides: Overrides) -> Result<DdnsConfig, ConfigError> {
        DdnsConfig::build(RawConfig::parse(text, Path::new("test.toml"))?, &overrides)
    }

    fn minimal() -> Overrides {
        Overrides {
            api_url: Some("http://127.0.0.1:5055".into()),
            ddns: DdnsSettings {
                hostname: Some("wireless.home.example.com".into()),
                secret: Some(SECRET.into()),
                ..DdnsSettings::default()
            },
            ..Overrides::default()
        }
    }

    #[test]
    fn full_file_is_read_with_real_types() {
        let cfg = build(&full_file(), Overrides::default()).expect("valid");
        assert_eq!(
            cfg.api_url.as_str(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/"
        );
        assert_eq!(cfg.hostname, "wireless.home.example.com");
        assert_eq!(cfg.secret.expose(), SECRET);
        assert_eq!(
            cfg.ipv4,
            Ipv4Source::MyIp {
                interface: Some("wwan0".into())
            }
        );
        assert_eq!(cfg.bind_interface(), Some("wwan0"));
        assert_eq!(cfg.ipv6, Ipv6Source::Interface("wwan0".into()));
        assert_eq!(cfg.state_file, PathBuf::from("/tmp/state.json"));
        assert_eq!(cfg.interval, Duration::from_secs(30));
        assert_eq!(cfg.refresh_after, Duration::from_secs(2 * 86_400));
    }

    #[test]
    fn defaults_apply_when_only_required_values_are_given() {
        let cfg = build("", minimal()).expect("valid");
        assert_eq!(cfg.ipv4, Ipv4Source::MyIp { interface: None });
        assert_eq!(cfg.ipv6, Ipv6Source::Off);
        assert_eq!(cfg.state_file, PathBuf::from(DEFAULT_STATE_FILE));
        assert_eq!(cfg.interval, Duration::from_secs(60));
        assert_eq!(cfg.refresh_after, Duration::from_secs(3 * 86_400));
    }

    #[test]
    fn flags_win_over_the_file() {
        let overrides = Overrides {
            ddns: DdnsSettings {
                hostname: Some("other.example.com".into()),
                ipv4: Some("file".into()),
                ipv4_file: Some("/run/modem/ip".into()),
                ipv6: Some("off".into()),
                ..DdnsSettings::default()
            },
            interval_secs: Some(10),
            ..Overrides::default()
        };
        let cfg = build(&full_file(), overrides).expect("valid");
        assert_eq!(cfg.hostname, "other.example.com");
        assert_eq!(cfg.ipv4, Ipv4Source::File("/run/modem/ip".into()));
        assert_eq!(cfg.ipv6, Ipv6Source::Off);
        assert_eq!(cfg.interval, Duration::from_secs(10));
        // Untouched values still come from the file.
        assert_eq!(cfg.refresh_after, Duration::from_secs(2 * 86_400));
    }

    #[test]
    fn secret_file_is_read_and_trimmed_and_a_flag_secret_replaces_the_file_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, format!("{SECRET}\n")).unwrap();
        let text = format!(
            "[api]\nurl = \"http://x.example\"\n[ddns]\nhostname = \"a.example.com\"\nsecret_file = \"{}\"\n",
            path.display()
        );
        let cfg = build(&text, Overrides::default()).expect("valid");
        assert_eq!(cfg.secret.expose(), SECRET);

        let overrides = Overrides {
            ddns: DdnsSettings {
                secret: Some("flag-secret-0123456789".into()),
                ..DdnsSettings::default()
            },
            ..Overrides::default()
        };
        let cfg = build(&text, overrides).expect("flag secret replaces the file's secret_file");
        assert_eq!(cfg.secret.expose(), "flag-secret-0123456789");
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let with = |f: fn(&mut Overrides)| {
            let mut o = minimal();
            f(&mut o);
            o
        };
        let cases: Vec<(&str, &str, Overrides, &str)> = vec![
            (
                "ftp url",
                "",
                with(|o| o.api_url = Some("ftp://x.example".into())),
                "api.url = \"ftp://x.example\"",
            ),
            (
                "url not a url",
                "",
                with(|o| o.api_url = Some("not a url".into())),
                "api.url = \"not a url\"",
            ),
            (
                "url with query",
                "",
                with(|o| o.api_url = Some("https://x.example/?a=1".into())),
                "api.url",
            ),
            (
                "missing url",
                "",
                with(|o| o.api_url = None),
                "api.url is not set",
            ),
            (
                "single label hostname",
                "",
                with(|o| o.ddns.hostname = Some("localhost".into())),
                "ddns.hostname = \"localhost\": not a fully qualified",
            ),
            (
                "missing hostname",
                "",
                with(|o| o.ddns.hostname = None),
                "ddns.hostname is not set",
            ),
            (
                "short secret",
                "",
                with(|o| o.ddns.secret = Some("short".into())),
                "ddns.secret = \"<redacted>\": the secret has 5 characters",
            ),
            (
                "no secret",
                "",
                with(|o| o.ddns.secret = None),
                "ddns.secret or ddns.secret_file is not set",
            ),
            (
                "secret and file at once",
                "",
                with(|o| o.ddns.secret_file = Some("/x".into())),
                "not both",
            ),
            (
                "missing secret file",
                "",
                with(|o| {
                    o.ddns.secret = None;
                    o.ddns.secret_file = Some("/nonexistent/failberry-secret".into());
                }),
                "ddns.secret_file = \"/nonexistent/failberry-secret\": unreadable",
            ),
            (
                "interface source without interface",
                "",
                with(|o| o.ddns.ipv4 = Some("interface".into())),
                "ddns.ipv4_interface (needed by ddns.ipv4 = \"interface\") is not set",
            ),
            (
                "file source without file",
                "",
                with(|o| o.ddns.ipv4 = Some("file".into())),
                "ddns.ipv4_file (needed by ddns.ipv4 = \"file\") is not set",
            ),
            (
                "ipv6 interface without interface",
                "",
                with(|o| o.ddns.ipv6 = Some("interface".into())),
                "ddns.ipv6_interface",
            ),
            (
                "unknown ipv4 source in the file",
                "[ddns]\nipv4 = \"dhcp\"\n",
                minimal(),
                "ddns.ipv4 = \"dhcp\": expected myip, interface, file or off",
            ),
            (
                "unknown ipv6 source in the file",
                "[ddns]\nipv6 = \"slaac\"\n",
                minimal(),
                "ddns.ipv6 = \"slaac\"",
            ),
            (
                "both families off",
                "[ddns]\nipv4 = \"off\"\n",
                minimal(),
                "nothing to publish",
            ),
            (
                "interface name with slash",
                "",
                with(|o| o.ddns.ipv4_interface = Some("../etc".into())),
                "ddns.ipv4_interface = \"../etc\"",
            ),
            (
                "interface name too long",
                "",
                with(|o| o.ddns.ipv6_interface = Some("a-very-long-interface-name".into())),
                "ddns.ipv6_interface",
            ),
            (
                "interval zero",
                "",
                with(|o| o.interval_secs = Some(0)),
                "ddns.interval_secs = \"0\"",
            ),
            (
                "refresh zero",
                "[ddns]\nrefresh_days = 0\n",
                minimal(),
                "ddns.refresh_days = \"0\"",
            ),
            (
                "unknown key",
                "[ddns]\nttl = 60\n",
                minimal(),
                "unknown field `ttl`",
            ),
            (
                "wrong type",
                "[ddns]\ninterval_secs = \"60\"\n",
                minimal(),
                "interval_secs",
            ),
        ];
        for (name, text, overrides, want) in cases {
            let err = build(text, overrides).expect_err(name).to_string();
            assert!(err.contains(want), "{name}: {err:?} lacks {want:?}");
            assert!(
                !err.contains(SECRET),
                "{name}: the secret leaked into {err:?}"
            );
        }
    }

    fn health(text: &str, overrides: Overrides) -> Result<HealthConfig, ConfigError> {
        HealthConfig::build(RawConfig::parse(text, Path::new("test.toml"))?, &overrides)
    }

    #[test]
    fn health_needs_nothing_and_has_defaults() {
        let cfg = health("", Overrides::default()).expect("valid");
        assert_eq!(cfg.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(cfg.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(cfg.header_timeout, Duration::from_secs(10));
        assert_eq!(cfg.write_timeout, Duration::from_secs(10));
        assert!(cfg.links.is_empty());
        assert_eq!(cfg.ddns_state_file, PathBuf::from(DEFAULT_STATE_FILE));
    }

    #[test]
    fn health_reads_its_section_and_the_ddns_state_file_and_flags_win() {
        let text = format!(
            "{}[health]\nlisten = \"[::]:9100\"\nmax_connections = 500\nheader_timeout_secs = 5\nwrite_timeout_secs = 7\nlinks = {{ wired = \"eth0\", wireless = \"wwan0\" }}\n",
            full_file()
        );
        let cfg = health(&text, Overrides::default()).expect("valid");
        assert_eq!(cfg.listen, "[::]:9100".parse().unwrap());
        assert_eq!(cfg.max_connections, 500);
        assert_eq!(cfg.header_timeout, Duration::from_secs(5));
        assert_eq!(cfg.write_timeout, Duration::from_secs(7));
        assert_eq!(
            cfg.links.iter().collect::<Vec<_>>(),
            vec![
                (&"wired".to_string(), &"eth0".to_string()),
                (&"wireless".to_string(), &"wwan0".to_string())
            ]
        );
        assert_eq!(cfg.ddns_state_file, PathBuf::from("/tmp/state.json"));

        let overrides = Overrides {
            health: HealthSettings {
                listen: Some("127.0.0.1:9000".into()),
                max_connections: Some(20),
                links: vec!["lte=ppp0".into()],
                state_file: Some("/run/state.json".into()),
                ..HealthSettings::default()
            },
            ..Overrides::default()
        };
        let cfg = health(&text, overrides).expect("valid");
        assert!(
            !format!("{cfg:?}").contains(SECRET),
            "the health config holds no secret"
        );
        assert_eq!(cfg.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(cfg.max_connections, 20);
        assert_eq!(cfg.header_timeout, Duration::from_secs(5), "from the file");
        assert_eq!(
            cfg.links.into_iter().collect::<Vec<_>>(),
            vec![("lte".to_string(), "ppp0".to_string())],
            "flag links replace the file's"
        );
        assert_eq!(cfg.ddns_state_file, PathBuf::from("/run/state.json"));
    }

    #[test]
    fn bad_health_values_are_refused_naming_the_key() {
        let flags = |settings: HealthSettings| Overrides {
            health: settings,
            ..Overrides::default()
        };
        let links = |pairs: &[&str]| {
            flags(HealthSettings {
                links: pairs.iter().map(|p| p.to_string()).collect(),
                ..HealthSettings::default()
            })
        };
        let cases: Vec<(&str, &str, Overrides, &str)> = vec![
            (
                "listen without port",
                "[health]\nlisten = \"0.0.0.0\"\n",
                Overrides::default(),
                "health.listen = \"0.0.0.0\"",
            ),
            (
                "listen as a name",
                "",
                flags(HealthSettings {
                    listen: Some("localhost:9000".into()),
                    ..HealthSettings::default()
                }),
                "health.listen = \"localhost:9000\"",
            ),
            (
                "no connections",
                "[health]\nmax_connections = 0\n",
                Overrides::default(),
                "health.max_connections = \"0\"",
            ),
            (
                "header timeout zero",
                "[health]\nheader_timeout_secs = 0\n",
                Overrides::default(),
                "health.header_timeout_secs = \"0\"",
            ),
            (
                "write timeout too long",
                "",
                flags(HealthSettings {
                    write_timeout: Some(86_400),
                    ..HealthSettings::default()
                }),
                "health.write_timeout_secs = \"86400\"",
            ),
            (
                "state file not a file",
                "",
                flags(HealthSettings {
                    state_file: Some("/".into()),
                    ..HealthSettings::default()
                }),
                "ddns.state_file = \"/\": not a file path",
            ),
            (
                "link without interface",
                "",
                links(&["wired"]),
                "health.links = \"wired\": expected NAME=INTERFACE",
            ),
            (
                "link twice",
                "",
                links(&["wired=eth0", "wired=eth1"]),
                "names a link twice",
            ),
            (
                "path in interface",
                "[health]\nlinks = { wired = \"../../etc\" }\n",
                Overrides::default(),
                "health.links = \"../../etc\"",
            ),
            (
                "odd link name",
                "",
                links(&["wired link=eth0"]),
                "health.links = \"wired link\"",
            ),
            (
                "unknown health key",
                "[health]\nport = 9000\n",
                Overrides::default(),
                "unknown field `port`",
            ),
        ];
        for (name, text, overrides, want) in cases {
            let err = health(text, overrides).expect_err(name).to_string();
            assert!(err.contains(want), "{name}: {err:?} lacks {want:?}");
        }
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, existed) = RawConfig::load(&dir.path().join("absent.toml")).expect("fine");
        assert!(!existed);
        assert!(raw.api.url.is_none());
    }

    #[test]
    fn secret_never_shows_in_debug_output() {
        let cfg = build("", minimal()).unwrap();
        assert!(!format!("{cfg:?}").contains(SECRET));
    }
}
