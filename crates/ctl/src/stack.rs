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
pub const DEFAULT_HOSTS_KEY: &str = "ddns.json";

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
) -> Result<(Location, Option<String>), EditError> {
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
            .unwrap_or_else(|| DEFAULT_HOSTS_KEY.into()),
        ping_key: flags
            .ping_key
            .clone()
            .or_else(|| parameter(PING_KEY_PARAMETER))
            .unwrap_or_else(|| failberry_failover::link::PING_CONFIG_KEY.into()),
    };
    let api_url = flags.api_url.clone().or_else(|| output(API_URL_OUTPUT));
    Ok((location, api_url))
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
                            api.as_deref()
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
