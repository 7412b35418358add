//! IPv4 as the API sees it (`GET /v1/myip`), asked through the configured interface so that with
//! two links up the wireless address is the one found. The request itself is `api`'s.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::{DetectFuture, Detection, Detector};
use crate::api::ApiClient;

pub struct MyIp {
    pub api: Arc<ApiClient>,
    pub interface: Option<String>,
}

impl Detector<Ipv4Addr> for MyIp {
    fn source(&self) -> String {
        match &self.interface {
            Some(name) => format!("myip via {name}"),
            None => "myip".to_string(),
        }
    }

    fn detect(&self) -> DetectFuture<'_, Ipv4Addr> {
        Box::pin(async move {
            match self.api.my_ip().await {
                Ok(ip) => from_answer(ip),
                Err(e) => Detection::Unknown(e.to_string()),
            }
        })
    }
}

/// The request goes out from an IPv4 socket, so an IPv6 answer means something in between
/// translated it; an IPv4-mapped one is still the IPv4 address.
fn from_answer(ip: IpAddr) -> Detection<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Detection::Found(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => Detection::Found(v4),
            None => {
                Detection::Unknown(format!("the API saw the IPv6 source {v6}, not an IPv4 one"))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let cases = [
            (
                "v4",
                "81.2.69.142",
                Detection::Found(Ipv4Addr::new(81, 2, 69, 142)),
            ),
            (
                "mapped",
                "::ffff:81.2.69.142",
                Detection::Found(Ipv4Addr::new(81, 2, 69, 142)),
            ),
            (
                "v6",
                "2a00:1450::1",
                Detection::Unknown(
                    "the API saw the IPv6 source 2a00:1450::1, not an IPv4 one".into(),
                ),
            ),
        ];
        for (name, ip, want) in cases {
            assert_eq!(from_answer(ip.parse().unwrap()), want, "{name}");
        }
    }
}
