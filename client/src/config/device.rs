//! The Pi's identity to the API: where the API is, the key id (the device's host name) and its
//! secret, from `[api]` and `[ddns]`. One device, one secret: DDNS, the camera connector and the
//! watchdog's reports all sign as it, whatever else of `[ddns]` they use.

use failberry_proto::hostname::normalize_fqdn;
use failberry_proto::Secret;
use url::Url;

use super::check::{check_secret, check_url};
use super::raw::RawConfig;
use super::{invalid, pick, ConfigError, Overrides};

#[derive(Debug, Clone)]
pub struct Device {
    pub api_url: Url,
    /// Normalised (lowercase, no trailing dot); also the key id of signed requests.
    pub hostname: String,
    pub secret: Secret,
}

impl Device {
    /// Lays `overrides` over `file`'s `[api]` and `[ddns]` and checks the three values.
    pub fn build(file: &RawConfig, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw = &file.ddns;
        let flags = &overrides.ddns;
        let api_url =
            pick(&overrides.api_url, file.api.url.clone()).ok_or(ConfigError::Missing {
                key: "api.url",
                flag: "--api-url",
                env: "FAILBERRY_API_URL",
            })?;
        let api_url = check_url(&api_url)?;

        let hostname = pick(&flags.hostname, raw.hostname.clone()).ok_or(ConfigError::Missing {
            key: "ddns.hostname",
            flag: "--hostname",
            env: "FAILBERRY_HOSTNAME",
        })?;
        let hostname = normalize_fqdn(&hostname).ok_or_else(|| {
            invalid(
                "ddns.hostname",
                &hostname,
                "not a fully qualified domain name",
            )
        })?;

        // The secret and its file are one setting: the layer that names either one decides.
        let (secret, secret_file) = if flags.secret.is_some() || flags.secret_file.is_some() {
            (flags.secret.clone(), flags.secret_file.clone())
        } else {
            (raw.secret.clone(), raw.secret_file.clone())
        };
        let secret = match (secret, secret_file) {
            (Some(_), Some(path)) => {
                return Err(invalid(
                    "ddns.secret_file",
                    path.display(),
                    "set either ddns.secret or ddns.secret_file, not both",
                ))
            }
            (Some(secret), None) => check_secret("ddns.secret", secret)?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    invalid(
                        "ddns.secret_file",
                        path.display(),
                        format!("unreadable: {e}"),
                    )
                })?;
                check_secret("ddns.secret_file", text.trim().to_string())?
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    key: "ddns.secret or ddns.secret_file",
                    flag: "--secret/--secret-file",
                    env: "FAILBERRY_SECRET/FAILBERRY_SECRET_FILE",
                })
            }
        };
        Ok(Self {
            api_url,
            hostname,
            secret,
        })
    }
}
