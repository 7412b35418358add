//! The clip upload contract (`/v1/clips*`): the bodies a device signs to get presigned S3 URLs for
//! one clip, the answers, and the pure decisions both sides share: which names are acceptable,
//! where a clip's object lives, whether a key is the device's own, and how a clip is cut into
//! parts. The key read back is `key`'s ([`ClipKey`]), the analysis result document `result`'s.
//! Presigning, S3 and the nonce store are the clips function's business. Past 400 lines only
//! through its table tests, which sit beside the decisions they pin.

use serde::{Deserialize, Serialize};

mod key;
pub mod result;

pub use key::{ClipKey, KeyError};

/// Where uploaded clips land: `incoming/<device>/<camera>/<unix seconds>-<name>`.
pub const INCOMING_PREFIX: &str = "incoming/";
/// Where the analysis writes its verdict on a clip: `results/<clip key>.json`.
pub const RESULTS_PREFIX: &str = "results/";
/// Clips up to this size get one presigned PUT; larger ones a multipart upload.
pub const SINGLE_PUT_MAX: u64 = 16 << 20;
/// The smallest part of a multipart upload (S3 refuses parts under 5 MiB except the last).
pub const MIN_PART_SIZE: u64 = 8 << 20;
/// S3's limit on the number of parts of one upload.
pub const MAX_PARTS: u64 = 10_000;
/// The largest clips request body: the fixed fields, plus one hex SHA-256 (and its JSON quotes
/// and comma) per part of the largest layout.
pub const MAX_REQUEST_BYTES: usize = 4096 + 67 * MAX_PARTS as usize;
/// How long a presigned URL stays valid.
pub const URL_LIFETIME_SECS: u64 = 15 * 60;
/// The longest camera name.
pub const MAX_CAMERA_LEN: usize = 64;
/// The longest clip file name.
pub const MAX_NAME_LEN: usize = 128;

/// `POST /v1/clips`: a grant for one clip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub camera: String,
    /// The file's name, no directory: `[A-Za-z0-9._-]`, not starting with a dot.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the whole clip.
    pub sha256: String,
    /// Lowercase hex SHA-256 of each part of [`layout`]`(size)`, in order; empty for a single
    /// PUT. Each part URL is signed over its part's checksum, so S3 stores only those bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sha256: Vec<String>,
    pub timestamp: i64,
    pub nonce: String,
}

/// One URL to send a request to, with the headers it was signed with: send them all, exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// One part of a multipart upload still to send: bytes `offset..offset + size` of the clip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartUrl {
    pub number: u32,
    pub offset: u64,
    pub size: u64,
    #[serde(flatten)]
    pub request: Presigned,
}

/// A part S3 holds, as `ListParts` reports it and the completion names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonePart {
    pub number: u32,
    pub etag: String,
    #[serde(default)]
    pub size: u64,
    /// Lowercase hex SHA-256 S3 checked the part against (absent where S3 reports none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The answer to a grant or a resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Grant {
    /// One PUT of the whole clip.
    Single {
        key: String,
        put: Presigned,
        expires: i64,
    },
    /// Parts to PUT (those S3 does not hold yet), then `POST /v1/clips/complete`.
    Multipart {
        key: String,
        upload_id: String,
        part_size: u64,
        parts: Vec<PartUrl>,
        /// Parts S3 already holds (after a resume).
        done: Vec<DonePart>,
        expires: i64,
    },
}

impl Grant {
    pub fn key(&self) -> &str {
        match self {
            Grant::Single { key, .. } | Grant::Multipart { key, .. } => key,
        }
    }
}

/// `POST /v1/clips/resume`: fresh URLs for the parts of an interrupted upload S3 does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    pub key: String,
    pub upload_id: String,
    pub size: u64,
    /// The parts' checksums again, as in the grant: the fresh URLs are signed over them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sha256: Vec<String>,
    pub timestamp: i64,
    pub nonce: String,
}

/// `POST /v1/clips/complete`: assemble the parts into the clip. The server lists the parts S3
/// holds (what was stored is the truth, and the body stays small whatever the part count) and
/// completes only when they are exactly the layout of `size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub key: String,
    pub upload_id: String,
    pub size: u64,
    pub timestamp: i64,
    pub nonce: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completed {
    pub key: String,
    pub size: u64,
}

/// `GET /v1/clips/<key>` while the analysis has not written its result (status 202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub key: String,
    pub status: String,
}

/// Why a clip's name or key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} {value:?} may hold only A-Z a-z 0-9 . _ - and may not start with a dot")]
    BadCharacters { field: &'static str, value: String },
    #[error("sha256 is not 64 lowercase hex characters")]
    BadChecksum,
    #[error("part_sha256 holds {given} checksums, the layout of {size} bytes has {parts} parts")]
    PartCount { size: u64, given: usize, parts: u32 },
}

fn check_segment(field: &'static str, value: &str, max: usize) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { field });
    }
    if value.len() > max {
        return Err(NameError::TooLong { field, max });
    }
    let allowed = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !allowed || value.starts_with('.') || value.contains("..") {
        return Err(NameError::BadCharacters {
            field,
            value: value.chars().take(80).collect(),
        });
    }
    Ok(())
}

/// Checks a camera name: one path segment, no dots at the start, bounded.
pub fn check_camera(camera: &str) -> Result<(), NameError> {
    check_segment("camera", camera, MAX_CAMERA_LEN)
}

/// Checks a clip's file name: one path segment, no `..`, bounded.
pub fn check_name(name: &str) -> Result<(), NameError> {
    check_segment("name", name, MAX_NAME_LEN)
}

/// Checks a hex SHA-256 and returns its bytes.
pub fn parse_sha256(hex_digest: &str) -> Result<[u8; 32], NameError> {
    if hex_digest.len() != 64 || hex_digest.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(NameError::BadChecksum);
    }
    hex::decode(hex_digest)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or(NameError::BadChecksum)
}

/// Checks the part checksums of a clip of `size` bytes against its layout (one per part, none
/// for a single PUT) and returns their bytes.
pub fn parse_part_sha256(size: u64, hex_digests: &[String]) -> Result<Vec<[u8; 32]>, NameError> {
    let parts = match layout(size) {
        Layout::Single => 0,
        Layout::Multipart { count, .. } => count,
    };
    if hex_digests.len() != parts as usize {
        return Err(NameError::PartCount {
            size,
            given: hex_digests.len(),
            parts,
        });
    }
    hex_digests.iter().map(|h| parse_sha256(h)).collect()
}

/// The object key of a clip granted at `timestamp` to `device` (a validated host name).
pub fn clip_key(
    device: &str,
    camera: &str,
    timestamp: i64,
    name: &str,
) -> Result<String, NameError> {
    check_camera(camera)?;
    check_name(name)?;
    Ok(format!(
        "{INCOMING_PREFIX}{device}/{camera}/{timestamp}-{name}"
    ))
}

/// Whether `key` is a clip key inside `device`'s own prefix, in exactly the shape
/// [`clip_key`] makes: any other key (another device's, a result, a config document, one with
/// `..` or extra segments, a name no grant hands out) is not the device's.
pub fn owns_key(device: &str, key: &str) -> bool {
    ClipKey::parse(key).is_ok_and(|k| k.device() == device && check_name(k.name()).is_ok())
}

/// Where the analysis of `clip_key` is written (the key as a string; [`ClipKey::result_key`]
/// once it is parsed).
pub fn result_key(clip_key: &str) -> String {
    format!("{RESULTS_PREFIX}{clip_key}.json")
}

/// The content type a clip is uploaded with (and its presigned URL bound to). Never a form type:
/// S3 emulators store an empty body for those.
pub fn content_type(name: &str) -> &'static str {
    if name.to_ascii_lowercase().ends_with(".mp4") {
        "video/mp4"
    } else {
        "application/octet-stream"
    }
}

/// How a clip of `size` bytes is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    Single,
    /// `count` parts of `part_size` bytes, the last one holding the rest.
    Multipart {
        part_size: u64,
        count: u32,
    },
}

/// One PUT up to [`SINGLE_PUT_MAX`]; beyond it parts of [`MIN_PART_SIZE`], grown (in whole MiB)
/// so that no clip needs more than [`MAX_PARTS`].
pub fn layout(size: u64) -> Layout {
    if size <= SINGLE_PUT_MAX {
        return Layout::Single;
    }
    let mib = 1 << 20;
    let needed = size.div_ceil(MAX_PARTS).div_ceil(mib) * mib;
    let part_size = needed.max(MIN_PART_SIZE);
    let count = size.div_ceil(part_size);
    Layout::Multipart {
        part_size,
        count: u32::try_from(count).expect("at most MAX_PARTS parts"),
    }
}

/// Byte range `(offset, size)` of part `number` (1-based) of a clip of `size` bytes.
pub fn part_range(size: u64, part_size: u64, number: u32) -> Option<(u64, u64)> {
    let offset = u64::from(number.checked_sub(1)?) * part_size;
    if offset >= size {
        return None;
    }
    Some((offset, part_size.min(size - offset)))
}

/// Why the parts S3 holds do not make the clip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartsProblem {
    #[error("a clip of {size} bytes is uploaded in one PUT, not in parts")]
    SinglePut { size: u64 },
    #[error("{held} parts held, {expected} expected")]
    Count { held: usize, expected: u32 },
    #[error(
        "part {number} holds {size} bytes, part {expected_number} should hold {expected_size}"
    )]
    Part {
        number: u32,
        size: u64,
        expected_number: u32,
        expected_size: u64,
    },
}

/// Checks a completion against the layout: every part present once, in order, each of the size
/// the layout gives it. Returns the first problem.
pub fn check_parts(size: u64, held: &[DonePart]) -> Result<(), PartsProblem> {
    let Layout::Multipart { part_size, count } = layout(size) else {
        return Err(PartsProblem::SinglePut { size });
    };
    if held.len() != count as usize {
        return Err(PartsProblem::Count {
            held: held.len(),
            expected: count,
        });
    }
    for (i, part) in held.iter().enumerate() {
        let number = u32::try_from(i + 1).expect("at most MAX_PARTS");
        let (_, want) = part_range(size, part_size, number).expect("in range");
        if part.number != number || part.size != want {
            return Err(PartsProblem::Part {
                number: part.number,
                size: part.size,
                expected_number: number,
                expected_size: want,
            });
        }
    }
    Ok(())
}

/// The clip bodies are signed like updates; each names itself in an error.
macro_rules! signed {
    ($($t:ty => $what:literal),*) => {$(
        impl crate::signing::Signed for $t {
            const WHAT: &'static str = $what;
            const MAX_BYTES: usize = MAX_REQUEST_BYTES;
            fn timestamp(&self) -> i64 { self.timestamp }
            fn nonce(&self) -> &str { &self.nonce }
        }
    )*};
}
signed!(GrantRequest => "a clips request", ResumeRequest => "a clips request", CompleteRequest => "a clips request");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases = [
            ("plain", "front-door_2.mp4", true),
            ("empty", "", false),
            ("slash", "a/b.mp4", false),
            ("dot dot", "a..mp4", false),
            ("parent", "..", false),
            ("hidden", ".clip.mp4", false),
            ("space", "my clip.mp4", false),
            ("backslash", "a\\b", false),
            ("unicode", "clíp.mp4", false),
            ("longest", &"a".repeat(MAX_NAME_LEN), true),
            ("too long", &"a".repeat(MAX_NAME_LEN + 1), false),
        ];
        for (name, input, ok) in cases {
            assert_eq!(check_name(input).is_ok(), ok, "{name}");
        }
        assert!(check_camera(&"c".repeat(MAX_CAMERA_LEN + 1)).is_err());
    }

    #[test]
    fn keys_and_ownership() {
        let key = clip_key("pi.home.example.com", "front", 1_764_000_000, "a.mp4").unwrap();
        assert_eq!(key, "incoming/pi.home.example.com/front/1764000000-a.mp4");
        let cases = [
            ("its own clip", "pi.home.example.com", key.as_str(), true),
            (
                "another device",
                "pi2.home.example.com",
                key.as_str(),
                false,
            ),
            (
                "a device whose name is a prefix",
                "pi.home.example.co",
                key.as_str(),
                false,
            ),
            (
                "a result",
                "pi.home.example.com",
                "results/incoming/pi.home.example.com/front/1-a.mp4.json",
                false,
            ),
            ("the config", "pi.home.example.com", "ddns.json", false),
            (
                "escape",
                "pi.home.example.com",
                "incoming/pi.home.example.com/../x/1-a.mp4",
                false,
            ),
            (
                "extra segment",
                "pi.home.example.com",
                "incoming/pi.home.example.com/front/x/1-a.mp4",
                false,
            ),
            (
                "no time",
                "pi.home.example.com",
                "incoming/pi.home.example.com/front/a.mp4",
                false,
            ),
            (
                "prefix only",
                "pi.home.example.com",
                "incoming/pi.home.example.com/",
                false,
            ),
            (
                "a stored name no grant makes",
                "pi.home.example.com",
                "incoming/pi.home.example.com/front/1-a b.mp4",
                false,
            ),
        ];
        for (name, device, key, want) in cases {
            assert_eq!(owns_key(device, key), want, "{name}");
        }
        assert!(clip_key("d", "front", 1, "../x").is_err());
        assert_eq!(
            result_key("incoming/d/c/1-a.mp4"),
            "results/incoming/d/c/1-a.mp4.json"
        );
    }

    #[test]
    fn layouts() {
        let mib = 1u64 << 20;
        let cases = [
            ("empty clip", 0, Layout::Single),
            ("small", 5 * mib, Layout::Single),
            ("at the single limit", SINGLE_PUT_MAX, Layout::Single),
            (
                "just over",
                SINGLE_PUT_MAX + 1,
                Layout::Multipart {
                    part_size: MIN_PART_SIZE,
                    count: 3,
                },
            ),
            (
                "20 MB",
                20_000_000,
                Layout::Multipart {
                    part_size: MIN_PART_SIZE,
                    count: 3,
                },
            ),
            (
                "100 GiB grows the parts",
                100 << 30,
                Layout::Multipart {
                    part_size: 11 * mib,
                    count: 9_310,
                },
            ),
        ];
        for (name, size, want) in cases {
            assert_eq!(layout(size), want, "{name}");
            if let Layout::Multipart { count, .. } = want {
                assert!(u64::from(count) <= MAX_PARTS, "{name}");
            }
        }
    }

    #[test]
    fn part_ranges_cover_the_clip_once() {
        let size = 20_000_000;
        let Layout::Multipart { part_size, count } = layout(size) else {
            panic!("multipart")
        };
        let ranges: Vec<_> = (1..=count)
            .map(|n| part_range(size, part_size, n).unwrap())
            .collect();
        assert_eq!(ranges[0], (0, part_size));
        assert_eq!(ranges.iter().map(|r| r.1).sum::<u64>(), size);
        assert_eq!(part_range(size, part_size, count + 1), None);
        assert_eq!(part_range(size, part_size, 0), None);
    }

    #[test]
    fn completions() {
        let size = 20_000_000u64;
        let p = |number, size| DonePart {
            number,
            etag: "e".into(),
            size,
            sha256: None,
        };
        let part = MIN_PART_SIZE;
        let last = size - 2 * part;
        let cases = [
            ("all parts", vec![p(1, part), p(2, part), p(3, last)], true),
            ("missing the last", vec![p(1, part), p(2, part)], false),
            (
                "out of order",
                vec![p(2, part), p(1, part), p(3, last)],
                false,
            ),
            (
                "short part",
                vec![p(1, part), p(2, part - 1), p(3, last + 1)],
                false,
            ),
        ];
        for (name, parts, ok) in cases {
            assert_eq!(check_parts(size, &parts).is_ok(), ok, "{name}");
        }
        assert!(check_parts(10, &[]).is_err(), "a small clip has no parts");
    }

    #[test]
    fn checksums_and_types() {
        assert!(parse_sha256(&"ab".repeat(32)).is_ok());
        let hash = "ab".repeat(32);
        let big = 20_000_000;
        let cases: [(&str, u64, Vec<String>, bool); 6] = [
            ("single PUT, none", 1000, vec![], true),
            ("single PUT, one too many", 1000, vec![hash.clone()], false),
            ("three parts, three", big, vec![hash.clone(); 3], true),
            ("three parts, two", big, vec![hash.clone(); 2], false),
            ("three parts, none", big, vec![], false),
            (
                "three parts, one upper case",
                big,
                vec![hash.clone(), hash.clone(), "AB".repeat(32)],
                false,
            ),
        ];
        for (name, size, given, ok) in cases {
            assert_eq!(parse_part_sha256(size, &given).is_ok(), ok, "{name}");
        }
        assert!(parse_sha256(&"AB".repeat(32)).is_err());
        assert!(parse_sha256("abc").is_err());
        assert!(parse_sha256(&"zz".repeat(32)).is_err());
        assert_eq!(content_type("A.MP4"), "video/mp4");
        assert_eq!(content_type("a.mkv"), "application/octet-stream");
    }

    #[test]
    fn grants_round_trip_tagged() {
        let grant = Grant::Single {
            key: "k".into(),
            put: Presigned {
                url: "http://x".into(),
                headers: vec![("content-length".into(), "3".into())],
            },
            expires: 1,
        };
        let wire = serde_json::to_value(&grant).unwrap();
        assert_eq!(wire["kind"], "single");
        assert_eq!(serde_json::from_value::<Grant>(wire).unwrap(), grant);
    }
}
