//! What Route53 holds for a name and what must change: a pure diff that never deletes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use failberry_proto::address::Addresses;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    A,
    Aaaa,
}

/// One simple record set as read back (values as Route53 returned them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet<T> {
    pub values: Vec<T>,
    pub ttl: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrentRecords {
    pub a: Option<RecordSet<Ipv4Addr>>,
    pub aaaa: Option<RecordSet<Ipv6Addr>>,
}

impl CurrentRecords {
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.a.as_ref().and_then(|s| s.values.first().copied())
    }

    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        self.aaaa.as_ref().and_then(|s| s.values.first().copied())
    }
}

/// One UPSERT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upsert {
    pub name: String,
    pub record_type: RecordType,
    pub value: IpAddr,
    pub ttl: i64,
}

/// The UPSERTs that make `current` match `desired`: a family changes when its record is missing,
/// holds anything but exactly the desired address, or has another TTL.
pub fn plan(name: &str, ttl: i64, current: &CurrentRecords, desired: &Addresses) -> Vec<Upsert> {
    fn stale<T: PartialEq>(set: &Option<RecordSet<T>>, want: &T, ttl: i64) -> bool {
        match set {
            None => true,
            Some(s) => s.values.len() != 1 || &s.values[0] != want || s.ttl != Some(ttl),
        }
    }
    let mut out = Vec::new();
    if let Some(v4) = desired.ipv4 {
        if stale(&current.a, &v4, ttl) {
            out.push(Upsert {
                name: name.to_string(),
                record_type: RecordType::A,
                value: v4.into(),
                ttl,
            });
        }
    }
    if let Some(v6) = desired.ipv6 {
        if stale(&current.aaaa, &v6, ttl) {
            out.push(Upsert {
                name: name.to_string(),
                record_type: RecordType::Aaaa,
                value: v6.into(),
                ttl,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }
    fn a(vals: &[&str], ttl: i64) -> Option<RecordSet<Ipv4Addr>> {
        Some(RecordSet {
            values: vals.iter().map(|s| v4(s)).collect(),
            ttl: Some(ttl),
        })
    }

    #[test]
    fn plans() {
        let both = Addresses {
            ipv4: Some(v4("81.2.69.142")),
            ipv6: Some(v6("2a00::1")),
        };
        let only4 = Addresses {
            ipv4: Some(v4("81.2.69.142")),
            ipv6: None,
        };
        let aaaa = Some(RecordSet {
            values: vec![v6("2a00::1")],
            ttl: Some(60),
        });
        let cases = [
            (
                "nothing yet",
                CurrentRecords::default(),
                both,
                vec![RecordType::A, RecordType::Aaaa],
            ),
            (
                "same",
                CurrentRecords {
                    a: a(&["81.2.69.142"], 60),
                    aaaa: aaaa.clone(),
                },
                both,
                vec![],
            ),
            (
                "v4 moved",
                CurrentRecords {
                    a: a(&["81.2.69.1"], 60),
                    aaaa: aaaa.clone(),
                },
                both,
                vec![RecordType::A],
            ),
            (
                "ttl differs",
                CurrentRecords {
                    a: a(&["81.2.69.142"], 300),
                    aaaa: None,
                },
                only4,
                vec![RecordType::A],
            ),
            (
                "extra value",
                CurrentRecords {
                    a: a(&["81.2.69.142", "81.2.69.143"], 60),
                    aaaa: None,
                },
                only4,
                vec![RecordType::A],
            ),
            (
                "v6 left alone when not asked",
                CurrentRecords {
                    a: a(&["81.2.69.142"], 60),
                    aaaa: None,
                },
                only4,
                vec![],
            ),
            (
                "empty desire",
                CurrentRecords::default(),
                Addresses::default(),
                vec![],
            ),
        ];
        for (name, current, desired, want) in cases {
            let got: Vec<RecordType> = plan("h.example.com", 60, &current, &desired)
                .iter()
                .map(|u| u.record_type)
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
