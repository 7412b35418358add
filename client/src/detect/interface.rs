//! Addresses read straight from a network interface: its IPv4 address (through `if-addrs`) and
//! its stable global IPv6 address (from the kernel table, parsed and chosen in `if_inet6`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use failberry_proto::address::non_public_reason;

use super::{if_inet6, DetectFuture, Detection, Detector};

/// Where Linux lists the interfaces that exist, with or without addresses.
const SYS_CLASS_NET: &str = "/sys/class/net";

pub struct InterfaceV4 {
    name: String,
}

impl InterfaceV4 {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
        }
    }
}

impl Detector<Ipv4Addr> for InterfaceV4 {
    fn source(&self) -> String {
        format!("interface {}", self.name)
    }

    fn detect(&self) -> DetectFuture<'_, Ipv4Addr> {
        Box::pin(async move {
            let addrs = match if_addrs::get_if_addrs() {
                Ok(addrs) => addrs,
                Err(e) => return Detection::Unknown(format!("listing interfaces: {e}")),
            };
            let found = pick_ipv4(
                addrs.iter().filter_map(|i| match i.addr {
                    if_addrs::IfAddr::V4(ref v4) => Some((i.name.as_str(), v4.ip)),
                    if_addrs::IfAddr::V6(_) => None,
                }),
                &self.name,
            );
            unknown_if_missing(found, &self.name, Path::new(SYS_CLASS_NET))
        })
    }
}

/// The interface's IPv4 address; a public one first when it has several, then the lowest.
pub fn pick_ipv4<'a>(
    addrs: impl IntoIterator<Item = (&'a str, Ipv4Addr)>,
    interface: &str,
) -> Detection<Ipv4Addr> {
    addrs
        .into_iter()
        .filter(|(name, _)| *name == interface)
        .map(|(_, ip)| ip)
        .min_by_key(|ip| (non_public_reason(IpAddr::V4(*ip)).is_some(), *ip))
        .map_or(Detection::Empty, Detection::Found)
}

pub struct InterfaceV6 {
    name: String,
    table: PathBuf,
}

impl InterfaceV6 {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            table: PathBuf::from(if_inet6::PATH),
        }
    }
}

impl Detector<Ipv6Addr> for InterfaceV6 {
    fn source(&self) -> String {
        format!("interface {}", self.name)
    }

    fn detect(&self) -> DetectFuture<'_, Ipv6Addr> {
        Box::pin(async move {
            let text = match tokio::fs::read_to_string(&self.table).await {
                Ok(text) => text,
                Err(e) => {
                    return Detection::Unknown(format!(
                        "reading {} (is IPv6 enabled?): {e}",
                        self.table.display()
                    ))
                }
            };
            let found = if_inet6::stable_global(&if_inet6::parse(&text), &self.name);
            unknown_if_missing(found, &self.name, Path::new(SYS_CLASS_NET))
        })
    }
}

/// No address on an interface that exists is `Empty`; on one that does not, `Unknown`.
fn unknown_if_missing<A>(
    found: Detection<A>,
    interface: &str,
    sys_class_net: &Path,
) -> Detection<A> {
    match found {
        Detection::Empty if !sys_class_net.join(interface).exists() => {
            Detection::Unknown(format!("no interface named {interface}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_choice() {
        let v4 = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        type Case = (
            &'static str,
            Vec<(&'static str, Ipv4Addr)>,
            Detection<Ipv4Addr>,
        );
        let cases: Vec<Case> = vec![
            (
                "one address",
                vec![("wwan0", v4("81.2.69.142"))],
                Detection::Found(v4("81.2.69.142")),
            ),
            (
                "other interface only",
                vec![("eth0", v4("81.2.69.142"))],
                Detection::Empty,
            ),
            (
                "cgnat is still found: the server decides",
                vec![("wwan0", v4("100.72.1.9"))],
                Detection::Found(v4("100.72.1.9")),
            ),
            (
                "public before private",
                vec![("wwan0", v4("10.0.0.1")), ("wwan0", v4("81.2.69.142"))],
                Detection::Found(v4("81.2.69.142")),
            ),
            (
                "lowest of two public",
                vec![("wwan0", v4("81.2.69.143")), ("wwan0", v4("81.2.69.142"))],
                Detection::Found(v4("81.2.69.142")),
            ),
            ("nothing", vec![], Detection::Empty),
        ];
        for (name, addrs, want) in cases {
            assert_eq!(pick_ipv4(addrs, "wwan0"), want, "{name}");
        }
    }

    #[test]
    fn missing_interface_is_unknown_not_empty() {
        let sys = tempfile::tempdir().unwrap();
        std::fs::create_dir(sys.path().join("wwan0")).unwrap();
        let cases = [
            (
                "exists, no address",
                "wwan0",
                Detection::<Ipv4Addr>::Empty,
                Detection::Empty,
            ),
            (
                "missing",
                "ppp0",
                Detection::Empty,
                Detection::Unknown("no interface named ppp0".into()),
            ),
            (
                "found stays found",
                "ppp0",
                Detection::Found(Ipv4Addr::LOCALHOST),
                Detection::Found(Ipv4Addr::LOCALHOST),
            ),
        ];
        for (name, interface, found, want) in cases {
            assert_eq!(
                unknown_if_missing(found, interface, sys.path()),
                want,
                "{name}"
            );
        }
    }
}
