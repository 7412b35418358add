//! The dyndns2 update protocol spoken by routers, ddclient and inadyn: `GET /nic/update` with
//! Basic auth, one answer line per hostname.

use std::fmt;
use std::net::IpAddr;

use crate::address::Addresses;

/// Most hostnames one request may list; dyndns2 answers `numhost` beyond it (DynDNS's own limit).
/// It bounds the Route53 reads one request can cause.
pub const MAX_HOSTNAMES: usize = 20;

/// One answer line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Good(Addresses),
    NoChange(Addresses),
    BadAuth,
    /// Not a host of the authenticated account (whether or not it exists elsewhere).
    NoHost,
    NotFqdn,
    /// More than [`MAX_HOSTNAMES`] hostnames in one request.
    NumHost,
    /// The address may not be published (private, reserved, unparsable, or a family the host
    /// may not use). Of the dyndns2 codes this misleads least: ddclient prints "DNS error
    /// encountered", inadyn retries later, and neither claims the account is blocked for abuse
    /// (`abuse`) or the credentials are wrong. See `docs/protocol.md`.
    DnsErr,
    /// A server-side failure (Route53 unavailable): try again later.
    ServerError,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Good(a) => write!(f, "good {a}"),
            Answer::NoChange(a) => write!(f, "nochg {a}"),
            Answer::BadAuth => f.write_str("badauth"),
            Answer::NoHost => f.write_str("nohost"),
            Answer::NotFqdn => f.write_str("notfqdn"),
            Answer::NumHost => f.write_str("numhost"),
            Answer::DnsErr => f.write_str("dnserr"),
            Answer::ServerError => f.write_str("911"),
        }
    }
}

/// Why `myip`/`myipv6` is refused (answered `dnserr`); each names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MyIpError {
    #[error("more than one address of a family in {0:?}")]
    TwoOfAFamily(String),
    #[error("{0:?} is not an IP address")]
    NotAnAddress(String),
}

/// Reads `myip` (one address, or `v4,v6` in either order) and `myipv6`. An empty value counts as
/// absent; anything unparsable is an error naming the value.
pub fn parse_myip(myip: Option<&str>, myipv6: Option<&str>) -> Result<Addresses, MyIpError> {
    let mut out = Addresses::default();
    let parts = myip
        .into_iter()
        .flat_map(|v| v.split(','))
        .chain(myipv6)
        .map(str::trim)
        .filter(|p| !p.is_empty());
    for part in parts {
        match part.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) if out.ipv4.is_none() => out.ipv4 = Some(v4),
            Ok(IpAddr::V6(v6)) if out.ipv6.is_none() => out.ipv6 = Some(v6),
            Ok(_) => return Err(MyIpError::TwoOfAFamily(part.to_string())),
            Err(_) => return Err(MyIpError::NotAnAddress(part.to_string())),
        }
    }
    Ok(out)
}

/// Splits the `hostname` parameter (comma-separated) into names, dropping empty items.
pub fn split_hostnames(param: &str) -> Vec<&str> {
    param
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn myip_forms() {
        let v4: Ipv4Addr = "81.2.69.142".parse().unwrap();
        let v6: Ipv6Addr = "2a00:1450::1".parse().unwrap();
        let both = Addresses {
            ipv4: Some(v4),
            ipv6: Some(v6),
        };
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Result<Addresses, ()>,
        );
        let cases: [Case; 8] = [
            ("none", None, None, Ok(Addresses::default())),
            (
                "v4",
                Some("81.2.69.142"),
                None,
                Ok(Addresses {
                    ipv4: Some(v4),
                    ipv6: None,
                }),
            ),
            (
                "comma pair",
                Some("81.2.69.142,2a00:1450::1"),
                None,
                Ok(both),
            ),
            (
                "comma pair reversed",
                Some("2a00:1450::1, 81.2.69.142"),
                None,
                Ok(both),
            ),
            (
                "myipv6",
                Some("81.2.69.142"),
                Some("2a00:1450::1"),
                Ok(both),
            ),
            ("empty", Some(""), Some(""), Ok(Addresses::default())),
            ("garbage", Some("not-an-ip"), None, Err(())),
            ("two v4", Some("81.2.69.142,81.2.69.143"), None, Err(())),
        ];
        for (name, myip, myipv6, want) in cases {
            assert_eq!(parse_myip(myip, myipv6).map_err(|_| ()), want, "{name}");
        }
    }

    #[test]
    fn answer_lines() {
        let a = Addresses {
            ipv4: Some("81.2.69.142".parse().unwrap()),
            ipv6: None,
        };
        let cases = [
            (Answer::Good(a), "good 81.2.69.142"),
            (Answer::NoChange(a), "nochg 81.2.69.142"),
            (Answer::BadAuth, "badauth"),
            (Answer::NumHost, "numhost"),
            (Answer::DnsErr, "dnserr"),
            (Answer::ServerError, "911"),
        ];
        for (answer, want) in cases {
            assert_eq!(answer.to_string(), want);
        }
    }

    #[test]
    fn hostnames_split() {
        assert_eq!(split_hostnames("a.b.c, d.e.f,,"), vec!["a.b.c", "d.e.f"]);
        assert!(split_hostnames("").is_empty());
    }
}
