//! The value checks the checked configs share: the API URL, secrets, interface names, timeouts
//! and the ddns state file path, each error naming the key and the bad value.

use std::path::PathBuf;
use std::time::Duration;

use failberry_proto::Secret;
use url::Url;

use super::{invalid, pick, ConfigError, DEFAULT_STATE_FILE};

/// Shorter secrets are refused: the HMAC is only as strong as its key.
pub const MIN_SECRET_CHARS: usize = 16;
/// Linux interface names are at most IFNAMSIZ - 1 bytes.
const MAX_INTERFACE_NAME: usize = 15;

/// `ddns.state_file`, read by `ddns` and shown by `health serve`'s `/status`: one rule for both.
pub(super) fn state_file(
    flag: &Option<PathBuf>,
    file: Option<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    let path = pick(flag, file).unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_FILE));
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return Err(invalid(
            "ddns.state_file",
            path.display(),
            "not a file path",
        ));
    }
    Ok(path)
}

pub(super) fn check_timeout(key: &'static str, secs: u64) -> Result<Duration, ConfigError> {
    if !(1..=3600).contains(&secs) {
        return Err(invalid(key, secs, "must be between 1 and 3600 seconds"));
    }
    Ok(Duration::from_secs(secs))
}

pub(super) fn check_url(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim()).map_err(|e| invalid("api.url", text, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "api.url",
            text,
            "must be an http:// or https:// URL",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("api.url", text, "has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "api.url",
            text,
            "must not carry a query or a fragment",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("api.url", text, "must not carry credentials"));
    }
    Ok(url)
}

pub(super) fn check_secret(key: &'static str, secret: String) -> Result<Secret, ConfigError> {
    let chars = secret.chars().count();
    if chars < MIN_SECRET_CHARS {
        // The value itself is never shown.
        return Err(invalid(
            key,
            "<redacted>",
            format!("the secret has {chars} characters, at least {MIN_SECRET_CHARS} are needed"),
        ));
    }
    Ok(Secret::new(secret))
}

pub(super) fn check_interface(key: &'static str, name: String) -> Result<String, ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_INTERFACE_NAME
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if !ok {
        return Err(invalid(
            key,
            &name,
            format!(
                "not an interface name (1-{MAX_INTERFACE_NAME} visible characters, no '/' or ':')"
            ),
        ));
    }
    Ok(name)
}
