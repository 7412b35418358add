//! The checked config of `ddns update` and `ddns watch`: where each address comes from, the API,
//! the device's name and secret, the state file and the timings. (Over 400 lines only through
//! its table tests: the code is half of it.)

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::check::{check_interface, state_file};
use super::device::Device;
use super::raw::{Ipv4From, Ipv6From, RawConfig};
use super::{invalid, pick, ConfigError, Overrides};

pub const DEFAULT_INTERVAL_SECS: u64 = 60;
pub const DEFAULT_REFRESH_DAYS: u64 = 3;

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
    /// The API, the host name to publish (also the key id) and the secret.
    pub device: Device,
    pub ipv4: Ipv4Source,
    pub ipv6: Ipv6Source,
    pub state_file: PathBuf,
    pub interval: Duration,
    pub refresh_after: Duration,
}

impl DdnsConfig {
    /// Lays `overrides` over `file` and checks every value.
    pub fn build(file: RawConfig, overrides: &Overrides) -> Result<Self, ConfigError> {
        let flags = &overrides.ddns;
        let device = Device::build(&file, overrides)?;
        let raw = file.ddns;

        let ipv4_interface = pick(&flags.ipv4_interface, raw.ipv4_interface)
            .map(|name| check_interface("ddns.ipv4_interface", name))
            .transpose()?;
        let ipv4_file = pick(&flags.ipv4_file, raw.ipv4_file);
        let ipv4 = match pick(&flags.ipv4, raw.ipv4).unwrap_or(Ipv4From::MyIp) {
            Ipv4From::MyIp => Ipv4Source::MyIp {
                interface: ipv4_interface,
            },
            Ipv4From::Interface => {
                Ipv4Source::Interface(ipv4_interface.ok_or(ConfigError::Missing {
                    key: "ddns.ipv4_interface (needed by ddns.ipv4 = \"interface\")",
                    flag: "--ipv4-interface",
                    env: "FAILBERRY_IPV4_INTERFACE",
                })?)
            }
            Ipv4From::File => Ipv4Source::File(ipv4_file.ok_or(ConfigError::Missing {
                key: "ddns.ipv4_file (needed by ddns.ipv4 = \"file\")",
                flag: "--ipv4-file",
                env: "FAILBERRY_IPV4_FILE",
            })?),
            Ipv4From::Off => Ipv4Source::Off,
        };

        let ipv6_interface = pick(&flags.ipv6_interface, raw.ipv6_interface)
            .map(|name| check_interface("ddns.ipv6_interface", name))
            .transpose()?;
        let ipv6 = match pick(&flags.ipv6, raw.ipv6).unwrap_or(Ipv6From::Off) {
            Ipv6From::Interface => {
                Ipv6Source::Interface(ipv6_interface.ok_or(ConfigError::Missing {
                    key: "ddns.ipv6_interface (needed by ddns.ipv6 = \"interface\")",
                    flag: "--ipv6-interface",
                    env: "FAILBERRY_IPV6_INTERFACE",
                })?)
            }
            Ipv6From::Off => Ipv6Source::Off,
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
            device,
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
    use std::path::Path;

    use super::*;
    use crate::cli::DdnsSettings;
    use crate::config::fixtures::{full_file, SECRET};
    use crate::config::DEFAULT_STATE_FILE;

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
            cfg.device.api_url.as_str(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/"
        );
        assert_eq!(cfg.device.hostname, "wireless.home.example.com");
        assert_eq!(cfg.device.secret.expose(), SECRET);
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
                ipv4: Some(Ipv4From::File),
                ipv4_file: Some("/run/modem/ip".into()),
                ipv6: Some(Ipv6From::Off),
                ..DdnsSettings::default()
            },
            interval_secs: Some(10),
            ..Overrides::default()
        };
        let cfg = build(&full_file(), overrides).expect("valid");
        assert_eq!(cfg.device.hostname, "other.example.com");
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
        assert_eq!(cfg.device.secret.expose(), SECRET);

        let overrides = Overrides {
            ddns: DdnsSettings {
                secret: Some("flag-secret-0123456789".into()),
                ..DdnsSettings::default()
            },
            ..Overrides::default()
        };
        let cfg = build(&text, overrides).expect("flag secret replaces the file's secret_file");
        assert_eq!(cfg.device.secret.expose(), "flag-secret-0123456789");
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
                with(|o| o.ddns.ipv4 = Some(Ipv4From::Interface)),
                "ddns.ipv4_interface (needed by ddns.ipv4 = \"interface\") is not set",
            ),
            (
                "file source without file",
                "",
                with(|o| o.ddns.ipv4 = Some(Ipv4From::File)),
                "ddns.ipv4_file (needed by ddns.ipv4 = \"file\") is not set",
            ),
            (
                "ipv6 interface without interface",
                "",
                with(|o| o.ddns.ipv6 = Some(Ipv6From::Interface)),
                "ddns.ipv6_interface",
            ),
            (
                "unknown ipv4 source in the file",
                "[ddns]\nipv4 = \"dhcp\"\n",
                minimal(),
                "unknown variant `dhcp`, expected one of `myip`, `interface`, `file`, `off`",
            ),
            (
                "unknown ipv6 source in the file",
                "[ddns]\nipv6 = \"slaac\"\n",
                minimal(),
                "unknown variant `slaac`",
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

    #[test]
    fn secret_never_shows_in_debug_output() {
        let cfg = build("", minimal()).unwrap();
        assert!(!format!("{cfg:?}").contains(SECRET));
    }
}
