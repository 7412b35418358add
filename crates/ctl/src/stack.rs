//! Where a deployment keeps its config documents, found from its CloudFormation stack by name
//! (outputs `ConfigBucketName` and `ApiUrl`, parameters `ConfigKey` and `PingConfigKey`), so
//! nobody copies bucket names by hand; flags override each value. The documents themselves are
//! `documents`'s.

use std::collections::HashMap;

use crate::documents::{EditError, Location};

/// The output naming the config bucket.
pub const CONFIG_BUCKET_OUTPUT: &str = "ConfigBucketName";
/// The output with the API's base URL (what the Pi, ddclient and routers call).
pub const API_URL_OUTPUT: &str = "ApiUrl";
pub const HOSTS_KEY_PARAMETER: &str = "ConfigKey";
pub const PING_KEY_PARAMETER: &str = "PingConfigKey";
/// The parameters naming the failover record `status` reads.
pub const FAILOVER_ZONE_PARAMETER: &str = "FailoverZoneId";
pub const FAILOVER_NAME_PARAMETER: &str = "FailoverName";

/// What the stack says, as key → value maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackFacts {
    pub outputs: HashMap<String, String>,
    pub parameters: HashMap<String, String>,
}

/// What the command line says (each `None` unless given).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub bucket: Option<String>,
    pub hosts_key: Option<String>,
    pub ping_key: Option<String>,
    pub api_url: Option<String>,
}

/// The documents' location and the API URL: the flags first, then the stack, then the
/// template's defaults for the keys. No bucket anywhere is an error naming both ways to give one.
pub fn resolve(
    facts: Option<&StackFacts>,
    flags: &Overrides,
) -> Result<(Location, Option<ApiUrl>), EditError> {
    let output = |k: &str| facts.and_then(|f| f.outputs.get(k)).cloned();
    let parameter = |k: &str| facts.and_then(|f| f.parameters.get(k)).cloned();
    let bucket = flags
        .bucket
        .clone()
        .or_else(|| output(CONFIG_BUCKET_OUTPUT))
        .ok_or_else(|| {
            EditError::Refused(match facts {
                Some(_) => {
                    format!("the stack has no {CONFIG_BUCKET_OUTPUT} output; pass --config-bucket")
                }
                None => {
                    "no config bucket: pass --stack <name> (or FAILBERRY_STACK) or --config-bucket"
                        .into()
                }
            })
        })?;
    let location = Location {
        bucket,
        hosts_key: flags
            .hosts_key
            .clone()
            .or_else(|| parameter(HOSTS_KEY_PARAMETER))
            .unwrap_or_else(|| failberry_proto::hosts::CONFIG_KEY.into()),
        ping_key: flags
            .ping_key
            .clone()
            .or_else(|| parameter(PING_KEY_PARAMETER))
            .unwrap_or_else(|| failberry_failover::link::PING_CONFIG_KEY.into()),
    };
    let api_url = match (&flags.api_url, output(API_URL_OUTPUT)) {
        (Some(flag), _) => Some(ApiUrl {
            url: flag.clone(),
            from: "--api-url",
        }),
        (None, Some(out)) => Some(ApiUrl {
            url: out,
            from: "the stack's ApiUrl output",
        }),
        (None, None) => None,
    };
    Ok((location, api_url))
}

/// The API's base URL and where it came from; checked only where it is printed into settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrl {
    pub url: String,
    pub from: &'static str,
}

impl ApiUrl {
    /// The URL when the Pi and routers could call it, else why not.
    pub fn usable(&self) -> Result<&str, EditError> {
        checked_api_url(&self.url, self.from)
    }
}

/// An API base URL the Pi and routers can call: `http(s)://host[:port][/path]` with a host made
/// of DNS characters. Refuses what would be printed into their settings as garbage, such as an
/// output left unresolved (`https://${HttpApi}.execute-api...`).
fn checked_api_url<'u>(url: &'u str, from: &str) -> Result<&'u str, EditError> {
    let refuse = |why: &str| {
        EditError::Refused(format!(
            "{from} {url:?} is not a usable API URL ({why}); pass --api-url"
        ))
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| refuse("not http:// or https://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(h, port)| {
        if port.parse::<u16>().is_ok() {
            h
        } else {
            authority
        }
    });
    let dns_host = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !dns_host {
        return Err(refuse("its host is not a DNS name"));
    }
    Ok(url)
}

/// The failover record `status` reads: the flags first, then the stack's `FailoverZoneId` and
/// `FailoverName` parameters. Missing either is an error naming both ways to give it.
pub fn failover_record(
    facts: Option<&StackFacts>,
    zone_id: Option<String>,
    name: Option<String>,
) -> Result<(String, String), EditError> {
    let parameter = |k: &str| {
        facts
            .and_then(|f| f.parameters.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let missing = |flag: &str, key: &str| {
        EditError::Refused(match facts {
            Some(_) => format!("the stack has no {key} parameter; pass {flag}"),
            None => format!("no {flag}: pass it, or --stack <name> (or FAILBERRY_STACK)"),
        })
    };
    let zone_id = zone_id
        .or_else(|| parameter(FAILOVER_ZONE_PARAMETER))
        .ok_or_else(|| missing("--zone-id", FAILOVER_ZONE_PARAMETER))?;
    let name = name
        .or_else(|| parameter(FAILOVER_NAME_PARAMETER))
        .ok_or_else(|| missing("--name", FAILOVER_NAME_PARAMETER))?;
    Ok((zone_id, name))
}

/// Reads the stack's outputs and parameters (CloudFormation DescribeStacks).
pub async fn describe(
    client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<StackFacts, EditError> {
    let out = client
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_cloudformation::error::ProvideErrorMetadata;
            EditError::Refused(format!(
                "stack {stack}: {}",
                e.message().or(e.code()).unwrap_or("DescribeStacks failed")
            ))
        })?;
    let Some(found) = out.stacks().first() else {
        return Err(EditError::Refused(format!("no stack named {stack}")));
    };
    let outputs = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect();
    let parameters = found
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_string(),
                p.parameter_value()?.to_string(),
            ))
        })
        .collect();
    Ok(StackFacts {
        outputs,
        parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(outputs: &[(&str, &str)], parameters: &[(&str, &str)]) -> StackFacts {
        let map = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        StackFacts {
            outputs: map(outputs),
            parameters: map(parameters),
        }
    }

    /// Bucket, hosts key, ping key, API URL; or a fragment of the error.
    type Want = Result<
        (
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
        ),
        &'static str,
    >;

    #[test]
    fn the_failover_record_from_flags_then_the_stack() {
        let stack = facts(
            &[],
            &[
                ("FailoverZoneId", "Z1"),
                ("FailoverName", "vpn.example.com"),
            ],
        );
        let blank = facts(&[], &[("FailoverZoneId", ""), ("FailoverName", "")]);
        let some = |s: &str| Some(s.to_string());
        type Case<'f> = (
            &'static str,
            Option<&'f StackFacts>,
            Option<String>,
            Option<String>,
            Result<(&'static str, &'static str), &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "the stack",
                Some(&stack),
                None,
                None,
                Ok(("Z1", "vpn.example.com")),
            ),
            (
                "flags win",
                Some(&stack),
                some("Z2"),
                some("b.example.com"),
                Ok(("Z2", "b.example.com")),
            ),
            (
                "flags alone",
                None,
                some("Z2"),
                some("b.example.com"),
                Ok(("Z2", "b.example.com")),
            ),
            (
                "no zone anywhere",
                None,
                None,
                some("b.example.com"),
                Err("no --zone-id: pass it, or --stack"),
            ),
            ("no name anywhere", None, some("Z2"), None, Err("no --name")),
            (
                "blank parameters",
                Some(&blank),
                None,
                None,
                Err("no FailoverZoneId parameter"),
            ),
        ];
        for (what, facts, zone, name, want) in cases {
            match (failover_record(facts, zone, name), want) {
                (Ok((z, n)), Ok((wz, wn))) => {
                    assert_eq!((z.as_str(), n.as_str()), (wz, wn), "{what}")
                }
                (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{what}: {e}"),
                (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn api_urls_that_would_print_garbage_are_refused() {
        let cases = [
            ("https://abc123.execute-api.eu-west-1.amazonaws.com", true),
            ("https://ddns.example.com/", true),
            ("http://127.0.0.1:8080", true),
            (
                "https://${HttpApi}.execute-api.eu-west-1.amazonaws.com",
                false,
            ),
            ("ftp://example.com", false),
            ("https://", false),
            ("https://a..b", false),
            ("https://host:notaport", false),
        ];
        for (url, usable) in cases {
            let got = checked_api_url(url, "--api-url");
            assert_eq!(got.is_ok(), usable, "{url}: {got:?}");
            if let Err(e) = got {
                assert!(e.to_string().contains("pass --api-url"), "{e}");
            }
        }
    }

    #[test]
    fn flags_then_the_stack_then_the_defaults() {
        let stack = facts(
            &[
                ("ConfigBucketName", "stack-bucket"),
                ("ApiUrl", "https://api.example/"),
            ],
            &[("ConfigKey", "hosts.json")],
        );
        let empty = StackFacts::default();
        let flag_bucket = Overrides {
            bucket: Some("flag-bucket".into()),
            ..Overrides::default()
        };
        let cases: Vec<(&str, Option<&StackFacts>, Overrides, Want)> = vec![
            (
                "the stack",
                Some(&stack),
                Overrides::default(),
                Ok((
                    "stack-bucket",
                    "hosts.json",
                    "ping.json",
                    Some("https://api.example/"),
                )),
            ),
            (
                "a flag wins",
                Some(&stack),
                flag_bucket.clone(),
                Ok((
                    "flag-bucket",
                    "hosts.json",
                    "ping.json",
                    Some("https://api.example/"),
                )),
            ),
            (
                "no stack",
                None,
                flag_bucket,
                Ok(("flag-bucket", "ddns.json", "ping.json", None)),
            ),
            ("nothing", None, Overrides::default(), Err("pass --stack")),
            (
                "a stack without the output",
                Some(&empty),
                Overrides::default(),
                Err("no ConfigBucketName output"),
            ),
        ];
        for (name, facts, flags, want) in cases {
            let got = resolve(facts, &flags);
            match (got, want) {
                (Ok((l, api)), Ok((bucket, hosts, ping, want_api))) => {
                    assert_eq!(
                        (
                            l.bucket.as_str(),
                            l.hosts_key.as_str(),
                            l.ping_key.as_str(),
                            api.as_ref().map(|a| a.url.as_str())
                        ),
                        (bucket, hosts, ping, want_api),
                        "{name}"
                    );
                }
                (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }
}
