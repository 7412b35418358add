//! The clip-reading budget: a clip's box structure checked before `re_mp4` reads it, so that the
//! reader's work is bounded by the clip's size. Two kinds of damage make `re_mp4` 0.5 run
//! without end rather than fail:
//! - a box of size 0 inside a container (legal only as the last top-level box) sends its child
//!   loops back to the same header for ever (it seeks to `start + size`);
//! - a sample count no table bounds (`stsz` with one size for every sample, `trun` without
//!   per-sample fields) makes it build up to 2³² samples.
//!
//! Here every box inside a container `re_mp4` descends into must hold at least its header and end
//! inside its parent, and the declared samples must fit in the clip and under [`MAX_SAMPLES`].
//! Only reading the boxes is this module's; what they mean is `demux`'s.

use super::ClipError;

/// The most samples a clip may declare: over 4 hours at 60 frames a second, far beyond any
/// camera clip, and small enough that `re_mp4`'s sample list stays within tens of MB.
pub const MAX_SAMPLES: u64 = 1 << 20;

/// How deep containers may nest (a real file needs 8: moov/trak/mdia/minf/stbl/stsd/avc1/avcC).
const MAX_DEPTH: u8 = 16;

/// Checks `clip`'s boxes as described in the module documentation.
pub fn check(clip: &[u8]) -> Result<(), ClipError> {
    let mut samples = 0u64;
    walk(clip, 0, clip.len(), 0, &mut samples)
}

/// One box header: its type, where its content starts and where it ends.
struct Header {
    kind: [u8; 4],
    content: usize,
    end: usize,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The header at `at`, inside a parent ending at `end`; `None` after the last box. A top-level
/// remainder too short for a header is left to `re_mp4` (it fails to read one: an error, not a
/// loop); inside a container it is refused, as `re_mp4` would read a header across the
/// container's end.
fn header(clip: &[u8], at: usize, end: usize, top: bool) -> Option<Result<Header, ClipError>> {
    let corrupt = |what: String| Some(Err(ClipError::Corrupt(what)));
    if at >= end {
        return None;
    }
    let needed = match be32(clip, at) {
        Some(1) => 16,
        _ => 8,
    };
    if at + needed > end {
        return if top {
            None
        } else {
            corrupt(format!(
                "{} stray bytes at the end of a box (byte {at})",
                end - at
            ))
        };
    }
    let size = be32(clip, at)?;
    let kind: [u8; 4] = clip[at + 4..at + 8].try_into().ok()?;
    let name = String::from_utf8_lossy(&kind).into_owned();
    let (content, total) = match size {
        // To the end of the file: legal for the last top-level box only.
        0 if top => (at + 8, (end - at) as u64),
        1 => (
            at + 16,
            u64::from_be_bytes(clip[at + 8..at + 16].try_into().ok()?),
        ),
        n => (at + 8, u64::from(n)),
    };
    let header_len = (content - at) as u64;
    if total < header_len || (at as u64).saturating_add(total) > end as u64 {
        return Some(Err(ClipError::Corrupt(format!(
            "box {name:?} at byte {at} has size {total}, outside its {}",
            if top { "file" } else { "parent" }
        ))));
    }
    Some(Ok(Header {
        kind,
        content,
        end: at + total as usize,
    }))
}

/// Where the child boxes of a `kind` box start, relative to its content; `None` for a box whose
/// content `re_mp4` does not read as boxes.
fn children_at(kind: &[u8; 4], clip: &[u8], content: usize) -> Option<usize> {
    match kind {
        b"moov" | b"trak" | b"edts" | b"mdia" | b"minf" | b"dinf" | b"stbl" | b"mvex" | b"moof"
        | b"traf" | b"udta" | b"ilst" | b"wave" => Some(0),
        // A full box (version and flags), or one that skipped them and starts with its `hdlr`:
        // `re_mp4` tells the two apart the same way.
        b"meta" => Some(if be32(clip, content) == Some(0) { 4 } else { 0 }),
        // Full box and entry count, then the entries (data references, sample descriptions).
        b"dref" | b"stsd" => Some(8),
        // Visual sample entries: 78 bytes of fields, then boxes (avcC, pasp, ...).
        b"avc1" | b"hvc1" | b"hev1" | b"vp08" | b"vp09" | b"av01" => Some(78),
        // Audio sample entry: 28 bytes of fields, 16 more in version 1.
        b"mp4a" => Some(match clip.get(content + 8..content + 10) {
            Some([0, 1]) => 44,
            _ => 28,
        }),
        _ => None,
    }
}

fn walk(
    clip: &[u8],
    start: usize,
    end: usize,
    depth: u8,
    samples: &mut u64,
) -> Result<(), ClipError> {
    if depth > MAX_DEPTH {
        return Err(ClipError::Corrupt(format!(
            "boxes nested deeper than {MAX_DEPTH}"
        )));
    }
    let mut at = start;
    while let Some(found) = header(clip, at, end, depth == 0) {
        let h = found?;
        count_samples(&h, clip, samples)?;
        // Items of an `ilst` are containers of `data` boxes whatever their type.
        let inside = if depth > 0 && is_item_list(clip, start) {
            Some(0)
        } else {
            children_at(&h.kind, clip, h.content)
        };
        if let Some(offset) = inside {
            if h.content + offset <= h.end {
                walk(clip, h.content + offset, h.end, depth + 1, samples)?;
            }
        }
        at = h.end;
    }
    Ok(())
}

/// Whether the boxes starting at `start` are the items of an `ilst` (its header just before).
fn is_item_list(clip: &[u8], start: usize) -> bool {
    start >= 8 && clip.get(start - 4..start) == Some(b"ilst")
}

/// Adds the samples a `stsz` or `trun` declares, refusing counts the clip cannot hold.
fn count_samples(h: &Header, clip: &[u8], samples: &mut u64) -> Result<(), ClipError> {
    let declared = match &h.kind {
        // version/flags, sample_size, sample_count
        b"stsz" => match (be32(clip, h.content + 4), be32(clip, h.content + 8)) {
            (Some(size), Some(count)) if size != 0 => {
                if u64::from(size) * u64::from(count) > clip.len() as u64 {
                    return Err(ClipError::Corrupt(format!(
                        "stsz declares {count} samples of {size} bytes, more than the clip's {} bytes",
                        clip.len()
                    )));
                }
                u64::from(count)
            }
            (_, Some(count)) => u64::from(count),
            _ => 0,
        },
        // version/flags, sample_count
        b"trun" => be32(clip, h.content + 4).map_or(0, u64::from),
        _ => return Ok(()),
    };
    *samples += declared;
    if *samples > MAX_SAMPLES {
        return Err(ClipError::Corrupt(format!(
            "the clip declares more than {MAX_SAMPLES} samples"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box of `kind` holding `content`.
    fn mp4_box(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
        let mut b = ((content.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(content);
        b
    }

    fn stbl_with(child: Vec<u8>) -> Vec<u8> {
        let stbl = mp4_box(b"stbl", &child);
        let minf = mp4_box(b"minf", &stbl);
        let mdia = mp4_box(b"mdia", &minf);
        let trak = mp4_box(b"trak", &mdia);
        mp4_box(b"moov", &trak)
    }

    fn stsz(sample_size: u32, count: u32) -> Vec<u8> {
        let mut c = vec![0; 4];
        c.extend_from_slice(&sample_size.to_be_bytes());
        c.extend_from_slice(&count.to_be_bytes());
        mp4_box(b"stsz", &c)
    }

    #[test]
    fn the_budget_refuses_what_would_run_without_end() {
        let mut zero_child = stbl_with(mp4_box(b"sgpd", &[0; 8]));
        // The `sgpd` header's size field: moov, trak, mdia, minf, stbl headers come first.
        zero_child[40..44].copy_from_slice(&0u32.to_be_bytes());
        let mut trun = vec![0; 4];
        trun.extend_from_slice(&(MAX_SAMPLES as u32 + 1).to_be_bytes());
        let fragment = mp4_box(b"moof", &mp4_box(b"traf", &mp4_box(b"trun", &trun)));
        let cases: Vec<(&str, Vec<u8>, bool)> = vec![
            ("well-formed table", stbl_with(stsz(0, 0)), true),
            (
                "fixed-size samples within the clip",
                stbl_with(stsz(2, 10)),
                true,
            ),
            ("size 0 inside a container", zero_child, false),
            (
                "size 0 as the last top-level box",
                [
                    mp4_box(b"ftyp", b"isom"),
                    vec![0, 0, 0, 0, b'm', b'd', b'a', b't', 1],
                ]
                .concat(),
                true,
            ),
            (
                "fixed-size samples past the clip",
                stbl_with(stsz(1000, 4_000_000)),
                false,
            ),
            ("a fragment with too many samples", fragment, false),
            (
                "a child larger than its parent",
                mp4_box(b"moov", &[0, 0, 0, 64, b't', b'r', b'a', b'k']),
                false,
            ),
            ("no header at all", vec![0, 0, 0], true),
            (
                "stray bytes at the end of a container",
                mp4_box(b"moov", &[mp4_box(b"free", &[]), vec![0, 0, 0, 0]].concat()),
                false,
            ),
        ];
        for (name, clip, ok) in cases {
            assert_eq!(check(&clip).is_ok(), ok, "{name}: {:?}", check(&clip));
        }
    }
}
