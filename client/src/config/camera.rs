//! The checked config of `camera watch` / `camera status`, built from `[camera]` as `raw` reads
//! it: where the durable queue lives, how many uploads run at once, the clip sources (folders,
//! Frigate, Unifi Video) and the `on_result` hook. The device's identity (API URL, host name,
//! secret) is `Device`, the one DDNS signs as: one device, one secret.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::device::Device;
use super::raw::{FolderMode, RawConfig, RawFolder};
use super::{invalid, pick, ConfigError, Overrides};

pub const DEFAULT_QUEUE_DIR: &str = "/var/lib/failberry/camera";
pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_RETRY_SECS: u64 = 5;
pub const DEFAULT_RESULT_TIMEOUT_SECS: u64 = 900;
/// The first wait for a stored clip's result: the analysis (S3 event, queue, Lambda, one
/// Rekognition call) takes a few seconds, so asking sooner only costs API calls.
pub const DEFAULT_RESULT_POLL_SECS: u64 = 5;
pub const DEFAULT_STABLE_SECS: u64 = 3;
pub const DEFAULT_POLL_SECS: u64 = 10;
const DEFAULT_EXTENSIONS: [&str; 5] = ["mp4", "mkv", "mov", "avi", "ts"];

#[derive(Debug, Clone)]
pub struct FolderSource {
    pub path: PathBuf,
    /// `None`: the first directory under `path` names the camera (one folder per camera).
    pub camera: Option<String>,
    pub mode: FolderMode,
    pub stable: Duration,
    pub poll: Duration,
    pub extensions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FrigateSource {
    pub url: Url,
    pub login: Option<(String, String)>,
    pub poll: Duration,
    pub retain: bool,
}

#[derive(Debug, Clone)]
pub struct UnifiSource {
    pub url: Url,
    pub api_key: String,
    pub poll: Duration,
    pub lock: bool,
}

/// Everything `camera watch` needs, checked.
#[derive(Debug, Clone)]
pub struct CameraConfig {
    /// API URL, host name (the key id) and secret.
    pub device: Device,
    pub queue_dir: PathBuf,
    pub concurrency: usize,
    pub retry: Duration,
    pub result_poll: Duration,
    pub result_timeout: Duration,
    pub on_result: Option<Vec<String>>,
    pub folders: Vec<FolderSource>,
    pub frigate: Vec<FrigateSource>,
    pub unifi: Vec<UnifiSource>,
}

fn secs(
    key: &'static str,
    value: Option<u64>,
    default: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    let value = value.unwrap_or(default);
    if !(1..=max).contains(&value) {
        return Err(invalid(
            key,
            value,
            format!("must be between 1 and {max} seconds"),
        ));
    }
    Ok(Duration::from_secs(value))
}

fn nvr_url(key: &'static str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim()).map_err(|e| invalid(key, text, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            key,
            text,
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(url)
}

impl CameraConfig {
    /// Lays `overrides` over `file` and checks every value.
    pub fn build(mut file: RawConfig, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw = std::mem::take(&mut file.camera);
        let flags = &overrides.camera;
        let device = Device::build(&file, overrides)?;
        let queue_dir = pick(&flags.queue_dir, raw.queue_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_QUEUE_DIR));
        let concurrency = pick(&flags.concurrency, raw.concurrency).unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=64).contains(&concurrency) {
            return Err(invalid(
                "camera.concurrency",
                concurrency,
                "must be between 1 and 64",
            ));
        }
        let on_result = match raw.on_result {
            Some(cmd) if cmd.is_empty() || cmd[0].is_empty() => {
                return Err(invalid("camera.on_result", "[]", "names no program"))
            }
            other => other,
        };

        let mut raw_folders = raw.folder;
        for spec in &flags.folders {
            let (camera, path) = match spec.split_once('=') {
                Some((camera, path)) => (Some(camera.to_string()), path),
                None => (None, spec.as_str()),
            };
            raw_folders.push(RawFolder {
                path: path.into(),
                camera,
                mode: flags.folder_mode,
                stable_secs: None,
                poll_secs: None,
                extensions: None,
            });
        }
        let mut folders = Vec::new();
        for f in raw_folders {
            if let Some(camera) = &f.camera {
                failberry_proto::clips::check_camera(camera)
                    .map_err(|e| invalid("camera.folder.camera", camera, e.to_string()))?;
            }
            folders.push(FolderSource {
                path: f.path,
                camera: f.camera,
                mode: f.mode.unwrap_or_default(),
                stable: secs(
                    "camera.folder.stable_secs",
                    f.stable_secs,
                    DEFAULT_STABLE_SECS,
                    3600,
                )?,
                poll: secs(
                    "camera.folder.poll_secs",
                    f.poll_secs,
                    DEFAULT_POLL_SECS,
                    3600,
                )?,
                extensions: f
                    .extensions
                    .unwrap_or_else(|| DEFAULT_EXTENSIONS.map(String::from).to_vec())
                    .into_iter()
                    .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                    .collect(),
            });
        }
        let frigate = raw
            .frigate
            .into_iter()
            .map(|f| {
                let login = match (f.user, f.password) {
                    (Some(u), Some(p)) => Some((u, p)),
                    (None, None) => None,
                    _ => {
                        return Err(invalid(
                            "camera.frigate.user",
                            "<redacted>",
                            "set both user and password, or neither (internal port)",
                        ))
                    }
                };
                Ok(FrigateSource {
                    url: nvr_url("camera.frigate.url", &f.url)?,
                    login,
                    poll: secs(
                        "camera.frigate.poll_secs",
                        f.poll_secs,
                        DEFAULT_POLL_SECS,
                        3600,
                    )?,
                    retain: f.retain.unwrap_or(true),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let unifi = raw
            .unifi_video
            .into_iter()
            .map(|u| {
                Ok(UnifiSource {
                    url: nvr_url("camera.unifi_video.url", &u.url)?,
                    api_key: u.api_key,
                    poll: secs(
                        "camera.unifi_video.poll_secs",
                        u.poll_secs,
                        DEFAULT_POLL_SECS,
                        3600,
                    )?,
                    lock: u.lock.unwrap_or(true),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            device,
            queue_dir,
            concurrency,
            retry: secs(
                "camera.retry_secs",
                pick(&flags.retry_secs, raw.retry_secs),
                DEFAULT_RETRY_SECS,
                3600,
            )?,
            result_poll: secs(
                "camera.result_poll_secs",
                raw.result_poll_secs,
                DEFAULT_RESULT_POLL_SECS,
                600,
            )?,
            result_timeout: secs(
                "camera.result_timeout_secs",
                raw.result_timeout_secs,
                DEFAULT_RESULT_TIMEOUT_SECS,
                86_400,
            )?,
            on_result,
            folders,
            frigate,
            unifi,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::full_file;
    use std::path::Path;

    /// A value of the wrong kind (an unknown folder mode) is refused while parsing, a value out
    /// of bounds while building: both are refusals here.
    fn build(extra: &str) -> Result<CameraConfig, ConfigError> {
        let text = format!("{}{extra}", full_file());
        let raw = RawConfig::parse(&text, Path::new("test.toml"))?;
        CameraConfig::build(raw, &Overrides::default())
    }

    #[test]
    fn sections_are_checked() {
        let cases = [
            ("defaults", "", true),
            (
                "a folder and a frigate",
                "[camera]\n[[camera.folder]]\npath = \"/srv/nvr\"\ncamera = \"front\"\nmode = \"poll\"\n[[camera.frigate]]\nurl = \"http://frigate:5000\"\n",
                true,
            ),
            ("bad mode", "[camera]\n[[camera.folder]]\npath = \"/x\"\nmode = \"fanotify\"\n", false),
            ("bad camera", "[camera]\n[[camera.folder]]\npath = \"/x\"\ncamera = \"a/b\"\n", false),
            ("zero concurrency", "[camera]\nconcurrency = 0\n", false),
            ("empty hook", "[camera]\non_result = []\n", false),
            ("frigate user alone", "[camera]\n[[camera.frigate]]\nurl = \"http://f:5000\"\nuser = \"u\"\n", false),
            ("unifi ftp", "[camera]\n[[camera.unifi_video]]\nurl = \"ftp://nvr\"\napi_key = \"k\"\n", false),
        ];
        for (name, extra, ok) in cases {
            assert_eq!(build(extra).is_ok(), ok, "{name}: {:?}", build(extra).err());
        }
        let cfg = build("[camera]\n[[camera.folder]]\npath = \"/srv/nvr\"\n").unwrap();
        assert_eq!(cfg.folders[0].mode, FolderMode::Notify);
        assert_eq!(cfg.concurrency, DEFAULT_CONCURRENCY);
        assert!(cfg.folders[0].extensions.contains(&"mp4".to_string()));
    }
}
