//! The checked config of `health serve`: where it listens, how many connections it serves and
//! how long it waits for them, the links `/status` reports and the ddns state file it shows.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::check::{check_interface, check_timeout, state_file};
use super::raw::RawConfig;
use super::{invalid, pick, ConfigError, Overrides};

pub const DEFAULT_HEALTH_LISTEN: &str = "0.0.0.0:9000";
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_WRITE_TIMEOUT_SECS: u64 = 10;
/// More connections than this would need more file descriptors than a Pi should hand out.
const MAX_MAX_CONNECTIONS: usize = 1_000_000;
/// Links shown by `/status`; a handful is plenty, and it bounds the work of one request.
const MAX_LINKS: usize = 16;

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cli::HealthSettings;
    use crate::config::fixtures::{full_file, SECRET};
    use crate::config::DEFAULT_STATE_FILE;

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
}
