//! The `GET /status` document: version, uptime, which links are up (each configured interface's
//! operstate and flags in sysfs) and the last DDNS acknowledgement (from the ddns state file).
//! Only public facts: no secret, no file path, nothing from the config beyond link and interface
//! names. Serving it is `routes`'.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::config::HealthConfig;
use crate::state;

/// Where Linux lists the network interfaces.
pub const SYS_CLASS_NET: &str = "/sys/class/net";

/// An interface's operational state (RFC 2863) as `/sys/class/net/<if>/operstate` spells it,
/// plus `missing` when there is no such interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperState {
    Up,
    Down,
    LowerLayerDown,
    Dormant,
    Testing,
    NotPresent,
    /// What the kernel says for drivers that do not track the state (ppp, tun), and for any
    /// word this parser does not know.
    Unknown,
    Missing,
}

/// `IFF_UP` in `/sys/class/net/<if>/flags`: the interface is administratively up.
const IFF_UP: u32 = 0x1;

/// Parses an `operstate` file.
pub fn parse_operstate(text: &str) -> OperState {
    match text.trim() {
        "up" => OperState::Up,
        "down" => OperState::Down,
        "lowerlayerdown" => OperState::LowerLayerDown,
        "dormant" => OperState::Dormant,
        "testing" => OperState::Testing,
        "notpresent" => OperState::NotPresent,
        _ => OperState::Unknown,
    }
}

/// Parses a `flags` file (hexadecimal, e.g. `0x1003`); `None` when it is not one.
pub fn parse_flags(text: &str) -> Option<u32> {
    let hex = text.trim().strip_prefix("0x")?;
    u32::from_str_radix(hex, 16).ok()
}

/// Whether a link can carry traffic: operstate `up`, or `unknown` on an interface that is
/// administratively up. The kernel's own test (`netif_oper_up`) takes both states as up, and its
/// documentation says `unknown` must be considered usable: drivers that do not track the state,
/// ppp (a 3G modem) among them, never report anything else.
pub fn is_up(operstate: OperState, flags: Option<u32>) -> bool {
    match operstate {
        OperState::Up => true,
        OperState::Unknown => flags.is_some_and(|f| f & IFF_UP != 0),
        _ => false,
    }
}

/// Reads one interface's state and flags under `sys_class_net`. The interface name was checked
/// by the config (no `/`, no `..`), so the path stays inside.
pub fn read_link(sys_class_net: &Path, interface: &str) -> (OperState, Option<u32>) {
    let dir = sys_class_net.join(interface);
    let operstate = match std::fs::read_to_string(dir.join("operstate")) {
        Ok(text) => parse_operstate(&text),
        Err(e) if e.kind() == ErrorKind::NotFound => return (OperState::Missing, None),
        Err(_) => OperState::Unknown,
    };
    let flags = std::fs::read_to_string(dir.join("flags"))
        .ok()
        .and_then(|text| parse_flags(&text));
    (operstate, flags)
}

#[derive(Debug, Serialize)]
pub struct Status<'a> {
    pub version: &'static str,
    pub uptime_secs: u64,
    pub links: BTreeMap<&'a str, Link<'a>>,
    /// `null` when there is no readable state file (DDNS not run yet, or not used on this Pi).
    pub ddns: Option<Ddns>,
}

#[derive(Debug, Serialize)]
pub struct Link<'a> {
    pub interface: &'a str,
    pub up: bool,
    pub operstate: OperState,
}

/// The addresses the API last acknowledged. They are in public DNS anyway.
#[derive(Debug, Serialize)]
pub struct Ddns {
    /// Server time, unix seconds.
    pub acknowledged_at: i64,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
}

/// Where the status comes from; built once at start.
#[derive(Debug, Clone)]
pub struct StatusSource {
    started: Instant,
    links: BTreeMap<String, String>,
    ddns_state_file: PathBuf,
    sys_class_net: PathBuf,
}

impl StatusSource {
    pub fn new(config: &HealthConfig) -> Self {
        Self {
            started: Instant::now(),
            links: config.links.clone(),
            ddns_state_file: config.ddns_state_file.clone(),
            sys_class_net: PathBuf::from(SYS_CLASS_NET),
        }
    }

    /// Reads the interfaces' states from another directory laid out like `/sys/class/net`.
    pub fn with_sys_class_net(mut self, path: impl Into<PathBuf>) -> Self {
        self.sys_class_net = path.into();
        self
    }

    /// Link name → interface, as configured.
    pub fn links(&self) -> &BTreeMap<String, String> {
        &self.links
    }

    /// Reads the current state. A few small file reads: sysfs and a local state file, which do
    /// not block long enough to be worth a thread hop.
    pub fn snapshot(&self) -> Status<'_> {
        let links = self
            .links
            .iter()
            .map(|(name, interface)| {
                let (operstate, flags) = read_link(&self.sys_class_net, interface);
                let link = Link {
                    interface,
                    up: is_up(operstate, flags),
                    operstate,
                };
                (name.as_str(), link)
            })
            .collect();
        let ddns = state::load(&self.ddns_state_file)
            .into_state()
            .map(|s| Ddns {
                acknowledged_at: s.acknowledged_at,
                ipv4: s.ipv4,
                ipv6: s.ipv6,
            });
        Status {
            version: env!("CARGO_PKG_VERSION"),
            uptime_secs: self.started.elapsed().as_secs(),
            links,
            ddns,
        }
    }

    /// The snapshot as JSON, newline-terminated.
    pub fn json(&self) -> Vec<u8> {
        let mut body = serde_json::to_vec(&self.snapshot())
            .unwrap_or_else(|_| b"{\"error\":\"status unavailable\"}".to_vec());
        body.push(b'\n');
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operstate_words() {
        let cases = [
            ("up", "up\n", OperState::Up),
            ("up without newline", "up", OperState::Up),
            ("down", "down\n", OperState::Down),
            ("no carrier", "lowerlayerdown\n", OperState::LowerLayerDown),
            ("dormant", "dormant\n", OperState::Dormant),
            ("testing", "testing\n", OperState::Testing),
            ("not present", "notpresent\n", OperState::NotPresent),
            ("ppp says unknown", "unknown\n", OperState::Unknown),
            ("empty", "", OperState::Unknown),
            ("capitals are not the kernel's", "UP\n", OperState::Unknown),
            ("a longer word", "upper\n", OperState::Unknown),
            ("binary", "\u{0}\u{ff}", OperState::Unknown),
        ];
        for (name, text, want) in cases {
            assert_eq!(parse_operstate(text), want, "{name}");
        }
    }

    #[test]
    fn flags_words() {
        let cases = [
            ("ethernet up", "0x1003\n", Some(0x1003)),
            ("ppp up", "0x10d1\n", Some(0x10d1)),
            ("admin down", "0x1002", Some(0x1002)),
            ("no prefix", "1003", None),
            ("not hex", "0xzz", None),
            ("empty", "", None),
            ("too large", "0x1ffffffff", None),
        ];
        for (name, text, want) in cases {
            assert_eq!(parse_flags(text), want, "{name}");
        }
    }

    #[test]
    fn which_links_are_up() {
        let admin_up = Some(0x10d1);
        let admin_down = Some(0x1090);
        let cases = [
            ("up", OperState::Up, admin_up, true),
            ("up whatever the flags", OperState::Up, None, true),
            (
                "ppp: unknown and admin up",
                OperState::Unknown,
                admin_up,
                true,
            ),
            (
                "unknown but admin down",
                OperState::Unknown,
                admin_down,
                false,
            ),
            ("unknown, flags unreadable", OperState::Unknown, None, false),
            ("down", OperState::Down, admin_up, false),
            ("cable out", OperState::LowerLayerDown, admin_up, false),
            (
                "dormant (802.1X pending)",
                OperState::Dormant,
                admin_up,
                false,
            ),
            ("testing", OperState::Testing, admin_up, false),
            ("not present", OperState::NotPresent, admin_up, false),
            ("missing", OperState::Missing, None, false),
        ];
        for (name, operstate, flags, want) in cases {
            assert_eq!(is_up(operstate, flags), want, "{name}");
        }
    }

    #[test]
    fn links_are_read_per_interface_and_a_missing_one_says_so() {
        let sys = tempfile::tempdir().unwrap();
        for (interface, state, flags) in [
            ("eth0", "up\n", "0x1003\n"),
            ("wwan0", "down\n", "0x1002\n"),
            ("ppp0", "unknown\n", "0x10d1\n"),
        ] {
            let dir = sys.path().join(interface);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("operstate"), state).unwrap();
            std::fs::write(dir.join("flags"), flags).unwrap();
        }
        std::fs::create_dir(sys.path().join("usb0")).unwrap();
        let cases = [
            ("eth0", (OperState::Up, Some(0x1003))),
            ("wwan0", (OperState::Down, Some(0x1002))),
            ("ppp0", (OperState::Unknown, Some(0x10d1))),
            ("wlan0", (OperState::Missing, None)),
            // A directory without the files is not an interface the kernel made.
            ("usb0", (OperState::Missing, None)),
        ];
        for (interface, want) in cases {
            assert_eq!(read_link(sys.path(), interface), want, "{interface}");
        }
    }

    #[test]
    fn operstate_serialises_as_the_kernel_spells_it() {
        let cases = [
            (OperState::LowerLayerDown, "\"lowerlayerdown\""),
            (OperState::NotPresent, "\"notpresent\""),
            (OperState::Missing, "\"missing\""),
        ];
        for (state, want) in cases {
            assert_eq!(serde_json::to_string(&state).unwrap(), want, "{state:?}");
        }
    }
}
