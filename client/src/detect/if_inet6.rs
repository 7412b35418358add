//! The kernel's IPv6 address table (`/proc/net/if_inet6`) as a pure function over its text, and
//! the choice of the one address worth publishing: a stable global one, never a temporary
//! (privacy), deprecated, tentative or duplicate one, never link-local, ULA or other special ranges.

use std::net::{IpAddr, Ipv6Addr};

use failberry_proto::address::non_public_reason;

use super::Detection;

pub const PATH: &str = "/proc/net/if_inet6";

pub const IFA_F_TEMPORARY: u32 = 0x01;
pub const IFA_F_OPTIMISTIC: u32 = 0x04;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_DEPRECATED: u32 = 0x20;
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// Any of these flags rules an address out.
const UNUSABLE: u32 = IFA_F_TEMPORARY | IFA_F_DADFAILED | IFA_F_DEPRECATED | IFA_F_TENTATIVE;
/// `scope` column value of global addresses (ULA are "global" here too, hence the range check).
const SCOPE_GLOBAL: u32 = 0x00;

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub address: Ipv6Addr,
    pub ifindex: u32,
    pub prefix_len: u8,
    pub scope: u32,
    pub flags: u32,
    pub interface: String,
}

/// Parses the table; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Entry> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [address, ifindex, prefix_len, scope, flags, interface] = fields[..] else {
        return None;
    };
    if address.len() != 32 {
        return None;
    }
    Some(Entry {
        address: Ipv6Addr::from(u128::from_str_radix(address, 16).ok()?),
        ifindex: u32::from_str_radix(ifindex, 16).ok()?,
        prefix_len: u8::from_str_radix(prefix_len, 16).ok()?,
        scope: u32::from_str_radix(scope, 16).ok()?,
        flags: u32::from_str_radix(flags, 16).ok()?,
        interface: interface.to_string(),
    })
}

/// The stable global address of `interface`, or `Empty` when it has none. Among several, a
/// non-optimistic one first, then the lowest, so the choice does not flap between runs.
pub fn stable_global(entries: &[Entry], interface: &str) -> Detection<Ipv6Addr> {
    entries
        .iter()
        .filter(|e| e.interface == interface)
        .filter(|e| e.scope == SCOPE_GLOBAL && e.flags & UNUSABLE == 0)
        .filter(|e| non_public_reason(IpAddr::V6(e.address)).is_none())
        .min_by_key(|e| (e.flags & IFA_F_OPTIMISTIC != 0, e.address))
        .map_or(Detection::Empty, |e| Detection::Found(e.address))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shaped like a real table: a SLAAC stable address and its temporary sibling on wwan0, a
    // link-local, a ULA, loopback, and an address still doing DAD.
    const TABLE: &str = "\
2a0104f80c17beef0000000000000002 03 40 00 00     wwan0
2a0104f80c17beef5c3e91fffe2b7a10 03 40 00 01     wwan0
fe800000000000005c3e91fffe2b7a10 03 40 20 80     wwan0
fd123456789a00010000000000000001 03 40 00 80     wwan0
00000000000000000000000000000001 01 80 10 80        lo
2a0104f80c17cafe0000000000000009 02 40 00 40      eth0
2a0104f80c17cafe0000000000000001 02 40 00 20      eth0
";

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_column() {
        let entries = parse(TABLE);
        assert_eq!(entries.len(), 7);
        assert_eq!(
            entries[2],
            Entry {
                address: ip("fe80::5c3e:91ff:fe2b:7a10"),
                ifindex: 3,
                prefix_len: 64,
                scope: 0x20,
                flags: 0x80,
                interface: "wwan0".into(),
            }
        );
        assert_eq!(entries[4].prefix_len, 128);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text =
            "garbage\n2a01 03 40 00 00 wwan0\n2a0104f80c17beef000000000000000z 03 40 00 00 wwan0\n\
                    2a0104f80c17beef0000000000000002 03 40 00 00     wwan0\n";
        assert_eq!(parse(text).len(), 1);
    }

    fn line(address: &str, scope: u32, flags: u32, name: &str) -> String {
        format!(
            "{:032x} 03 40 {scope:02x} {flags:02x} {name}\n",
            u128::from(ip(address))
        )
    }

    #[test]
    fn choice_of_the_address_to_publish() {
        let stable = "2a01:4f8:c17:beef::2";
        let other = "2a01:4f8:c17:beef::1";
        let cases: Vec<(&str, String, &str, Detection<Ipv6Addr>)> = vec![
            (
                "real table, wwan0",
                TABLE.into(),
                "wwan0",
                Detection::Found(ip(stable)),
            ),
            (
                "eth0: only tentative or deprecated",
                TABLE.into(),
                "eth0",
                Detection::Empty,
            ),
            (
                "interface absent from the table",
                TABLE.into(),
                "wlan0",
                Detection::Empty,
            ),
            (
                "temporary skipped",
                line(other, 0, IFA_F_TEMPORARY, "wwan0"),
                "wwan0",
                Detection::Empty,
            ),
            (
                "deprecated skipped",
                line(other, 0, IFA_F_DEPRECATED, "wwan0"),
                "wwan0",
                Detection::Empty,
            ),
            (
                "tentative skipped",
                line(other, 0, IFA_F_TENTATIVE, "wwan0"),
                "wwan0",
                Detection::Empty,
            ),
            (
                "dad failed skipped",
                line(other, 0, IFA_F_DADFAILED, "wwan0"),
                "wwan0",
                Detection::Empty,
            ),
            (
                "link scope skipped",
                line(other, 0x20, 0x80, "wwan0"),
                "wwan0",
                Detection::Empty,
            ),
            (
                "ula skipped",
                line("fd00::1", 0, 0x80, "wwan0"),
                "wwan0",
                Detection::Empty,
            ),
            (
                "documentation skipped",
                line("2001:db8::1", 0, 0x80, "wwan0"),
                "wwan0",
                Detection::Empty,
            ),
            (
                "other interface ignored",
                line(stable, 0, 0, "eth0"),
                "wwan0",
                Detection::Empty,
            ),
            ("no table", String::new(), "wwan0", Detection::Empty),
            (
                "permanent static",
                line(stable, 0, 0x80, "wwan0"),
                "wwan0",
                Detection::Found(ip(stable)),
            ),
            (
                "managed temp address base (0x100) is stable",
                line(stable, 0, 0x100, "wwan0"),
                "wwan0",
                Detection::Found(ip(stable)),
            ),
            (
                "lowest of two stable ones, whatever the order",
                line(stable, 0, 0, "wwan0") + &line(other, 0, 0, "wwan0"),
                "wwan0",
                Detection::Found(ip(other)),
            ),
            (
                "non-optimistic before optimistic",
                line(other, 0, IFA_F_OPTIMISTIC, "wwan0") + &line(stable, 0, 0, "wwan0"),
                "wwan0",
                Detection::Found(ip(stable)),
            ),
            (
                "temporary sibling listed first",
                line(other, 0, IFA_F_TEMPORARY, "wwan0") + &line(stable, 0, 0, "wwan0"),
                "wwan0",
                Detection::Found(ip(stable)),
            ),
        ];
        for (name, text, interface, want) in cases {
            assert_eq!(stable_global(&parse(&text), interface), want, "{name}");
        }
    }
}
