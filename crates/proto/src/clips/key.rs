//! A clip's object key, `incoming/<device>/<camera>/<unix seconds>-<name>`, read in one place:
//! the clips function checks a device's keys with it, detectatron takes the camera from it, and
//! both derive the result key from it. Making a key for a grant is [`super::clip_key`]'s.

use std::fmt;
use std::str::FromStr;

use super::{check_camera, check_segment, NameError, INCOMING_PREFIX, RESULTS_PREFIX};

/// The longest device segment: a DNS name.
const MAX_DEVICE_LEN: usize = 253;

/// A clip key, checked: one segment each for device, camera and file, none of them able to
/// climb out of the device's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipKey {
    key: String,
    device: String,
    camera: String,
    time: i64,
    name: String,
}

/// Why a string is not a clip key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not under {INCOMING_PREFIX}")]
    NotIncoming,
    #[error("no {0} in the key")]
    Missing(&'static str),
    #[error("more segments than incoming/<device>/<camera>/<time>-<name>")]
    ExtraSegments,
    #[error("the time {0:?} is not unix seconds")]
    BadTime(String),
    #[error(transparent)]
    Segment(#[from] NameError),
}

/// A stored clip's name. Looser than a grant's [`super::check_name`] on purpose: S3 holds what
/// its owner puts too (the tests put `front door+1.mp4` to pin the URL decoding), and the
/// analysis reads what is there. Still one segment that is neither hidden nor a climb.
fn check_stored_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { field: "name" });
    }
    if name.starts_with('.') || name.chars().any(char::is_control) {
        return Err(NameError::BadCharacters {
            field: "name",
            value: name.chars().take(80).collect(),
        });
    }
    Ok(())
}

impl ClipKey {
    /// Reads a key (already URL-decoded, as S3 names the object).
    pub fn parse(key: &str) -> Result<ClipKey, KeyError> {
        let rest = key
            .strip_prefix(INCOMING_PREFIX)
            .ok_or(KeyError::NotIncoming)?;
        let mut segments = rest.split('/');
        let mut next = |part| {
            segments
                .next()
                .filter(|s| !s.is_empty())
                .ok_or(KeyError::Missing(part))
        };
        let device = next("device")?;
        let camera = next("camera")?;
        let file = next("file name")?;
        if segments.next().is_some() {
            return Err(KeyError::ExtraSegments);
        }
        check_segment("device", device, MAX_DEVICE_LEN)?;
        check_camera(camera)?;
        let (time, name) = file.split_once('-').ok_or(KeyError::Missing("time"))?;
        if time.is_empty() || !time.bytes().all(|b| b.is_ascii_digit()) {
            return Err(KeyError::BadTime(time.chars().take(20).collect()));
        }
        let time = time
            .parse()
            .map_err(|_| KeyError::BadTime(time.to_string()))?;
        check_stored_name(name)?;
        Ok(ClipKey {
            key: key.to_string(),
            device: device.to_string(),
            camera: camera.to_string(),
            time,
            name: name.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The device (its host name) the clip was granted to.
    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn camera(&self) -> &str {
        &self.camera
    }

    /// Unix seconds of the grant.
    pub fn time(&self) -> i64 {
        self.time
    }

    /// The clip's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the analysis of this clip is written: `results/<clip key>.json`.
    pub fn result_key(&self) -> String {
        format!("{RESULTS_PREFIX}{}.json", self.key)
    }
}

impl FromStr for ClipKey {
    type Err = KeyError;

    fn from_str(key: &str) -> Result<ClipKey, KeyError> {
        ClipKey::parse(key)
    }
}

impl fmt::Display for ClipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clips::clip_key;

    #[test]
    fn good_keys_give_their_parts() {
        let cases = [
            (
                "as a grant makes it",
                "incoming/pi.home.example.com/front/1764000000-a.mp4",
                ("pi.home.example.com", "front", 1_764_000_000, "a.mp4"),
            ),
            (
                "a dash in the name",
                "incoming/pi-1/drive/1795777202-multi-part.mp4",
                ("pi-1", "drive", 1_795_777_202, "multi-part.mp4"),
            ),
            (
                "a space and a plus, as the owner may put",
                "incoming/pi-1/door/1795777200-front door+1.mp4",
                ("pi-1", "door", 1_795_777_200, "front door+1.mp4"),
            ),
        ];
        for (name, key, (device, camera, time, file)) in cases {
            let k = ClipKey::parse(key).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (k.device(), k.camera(), k.time(), k.name()),
                (device, camera, time, file),
                "{name}"
            );
            assert_eq!(k.as_str(), key, "{name}");
            assert_eq!(k.to_string(), key, "{name}");
            assert_eq!(k.result_key(), format!("results/{key}.json"), "{name}");
        }
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        let bad = |field, value: &str| {
            KeyError::Segment(NameError::BadCharacters {
                field,
                value: value.into(),
            })
        };
        let cases = [
            (
                "a result",
                "results/incoming/pi/front/1-a.mp4.json",
                KeyError::NotIncoming,
            ),
            ("the config", "ddns.json", KeyError::NotIncoming),
            (
                "no prefix slash",
                "incomingpi/front/1-a.mp4",
                KeyError::NotIncoming,
            ),
            ("prefix only", "incoming/", KeyError::Missing("device")),
            ("device only", "incoming/pi/", KeyError::Missing("camera")),
            (
                "no file",
                "incoming/pi/front",
                KeyError::Missing("file name"),
            ),
            (
                "empty camera",
                "incoming/pi//1-a.mp4",
                KeyError::Missing("camera"),
            ),
            (
                "no time",
                "incoming/pi/front/a.mp4",
                KeyError::Missing("time"),
            ),
            (
                "time not digits",
                "incoming/pi/front/x1-a.mp4",
                KeyError::BadTime("x1".into()),
            ),
            (
                "empty time",
                "incoming/pi/front/-a.mp4",
                KeyError::BadTime(String::new()),
            ),
            (
                "time too large",
                "incoming/pi/front/99999999999999999999-a.mp4",
                KeyError::BadTime("99999999999999999999".into()),
            ),
            (
                "no name",
                "incoming/pi/front/1-",
                KeyError::Segment(NameError::Empty { field: "name" }),
            ),
            (
                "extra segment",
                "incoming/pi/front/x/1-a.mp4",
                KeyError::ExtraSegments,
            ),
            (
                "climbing camera",
                "incoming/pi/../x/1-a.mp4",
                KeyError::ExtraSegments,
            ),
            (
                "climbing device",
                "incoming/../front/1-a.mp4",
                bad("device", ".."),
            ),
            ("dot camera", "incoming/pi/../1-a.mp4", bad("camera", "..")),
            (
                "hidden name",
                "incoming/pi/front/1-.a.mp4",
                bad("name", ".a.mp4"),
            ),
            ("parent name", "incoming/pi/front/1-..", bad("name", "..")),
            (
                "control in the name",
                "incoming/pi/front/1-a\n.mp4",
                bad("name", "a\n.mp4"),
            ),
            (
                "backslash camera",
                "incoming/pi/a\\b/1-a.mp4",
                bad("camera", "a\\b"),
            ),
        ];
        for (name, key, want) in cases {
            assert_eq!(ClipKey::parse(key), Err(want), "{name}");
        }
    }

    #[test]
    fn granted_keys_parse_back() {
        let key = clip_key("pi.home.example.com", "front", 1_764_000_000, "a.mp4").unwrap();
        let parsed: ClipKey = key.parse().unwrap();
        assert_eq!(
            (
                parsed.device(),
                parsed.camera(),
                parsed.time(),
                parsed.name()
            ),
            ("pi.home.example.com", "front", 1_764_000_000, "a.mp4")
        );
    }
}
