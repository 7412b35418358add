//! Which addresses may be published in public DNS. A mobile carrier often hands out addresses
//! behind carrier-grade NAT (100.64.0.0/10) or a private range; publishing those makes the name
//! point nowhere, so they are refused unless the host explicitly allows it. The ranges come from
//! the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and successors). Also the
//! pair of addresses (one per family) that every protocol publishes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address of each family: what a request asks to publish (`None` leaves that family alone)
/// or what an answer reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Addresses {
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
}

impl Addresses {
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> {
        self.ipv4
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.ipv6.map(IpAddr::V6))
    }

    pub fn is_empty(&self) -> bool {
        self.ipv4.is_none() && self.ipv6.is_none()
    }
}

impl fmt::Display for Addresses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ipv4, self.ipv6) {
            (Some(v4), Some(v6)) => write!(f, "{v4},{v6}"),
            (Some(v4), None) => write!(f, "{v4}"),
            (None, Some(v6)) => write!(f, "{v6}"),
            (None, None) => Ok(()),
        }
    }
}

/// Why an address is not publicly routable, or `None` when it is.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

const V4_RANGES: &[([u8; 4], u32, &str)] = &[
    ([0, 0, 0, 0], 8, "\"this network\" (0.0.0.0/8)"),
    ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
    ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
    ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
    ([169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"),
    ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
    (
        [192, 0, 0, 0],
        24,
        "IETF protocol assignments (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
    (
        [192, 88, 99, 0],
        24,
        "deprecated 6to4 relay (192.88.99.0/24)",
    ),
    ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
    ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
    ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
    ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
    ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
    ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
];

const V6_RANGES: &[([u16; 8], u32, &str)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified (::)"),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback (::1)"),
    (
        [0, 0, 0, 0, 0, 0xffff, 0, 0],
        96,
        "IPv4-mapped (::ffff:0:0/96)",
    ),
    (
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only (100::/64)"),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "documentation (2001:db8::/32)",
    ),
    (
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        "IETF protocol assignments (2001::/23)",
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        "documentation (3fff::/20)",
    ),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique local (fc00::/7)"),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local (fe80::/10)"),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast (ff00::/8)"),
];

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    if ip == Ipv4Addr::BROADCAST {
        return Some("broadcast (255.255.255.255)");
    }
    V4_RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    V6_RANGES
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let cases = [
            ("public v4", "81.2.69.142", None),
            (
                "cgnat",
                "100.72.1.9",
                Some("carrier-grade NAT (100.64.0.0/10)"),
            ),
            ("just outside cgnat", "100.128.0.1", None),
            ("private 10", "10.1.2.3", Some("private (10.0.0.0/8)")),
            (
                "private 172.31",
                "172.31.255.255",
                Some("private (172.16.0.0/12)"),
            ),
            ("public 172.32", "172.32.0.1", None),
            ("loopback", "127.0.0.2", Some("loopback (127.0.0.0/8)")),
            (
                "doc net 3",
                "203.0.113.9",
                Some("documentation (203.0.113.0/24)"),
            ),
            (
                "broadcast",
                "255.255.255.255",
                Some("broadcast (255.255.255.255)"),
            ),
            ("multicast", "239.1.1.1", Some("multicast (224.0.0.0/4)")),
            ("public v6", "2a00:1450:4009:81d::200e", None),
            (
                "v6 doc",
                "2001:db8::1",
                Some("documentation (2001:db8::/32)"),
            ),
            (
                "teredo",
                "2001:0:4136:e378::1",
                Some("IETF protocol assignments (2001::/23)"),
            ),
            ("ula", "fd12:3456::1", Some("unique local (fc00::/7)")),
            ("link local", "fe80::1", Some("link-local (fe80::/10)")),
            (
                "mapped",
                "::ffff:81.2.69.142",
                Some("IPv4-mapped (::ffff:0:0/96)"),
            ),
            ("v6 loopback", "::1", Some("loopback (::1)")),
        ];
        for (name, ip, want) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(non_public_reason(ip), want, "{name}");
        }
    }
}
