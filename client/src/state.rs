//! The state file: the addresses the API last acknowledged for the hostname, so an unchanged
//! address is not sent again. Written atomically; a missing or corrupt file is no state, never a
//! crash. What to do with it is `ddns`'s call.

use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub hostname: String,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// Server time (unix seconds) of the acknowledgement.
    pub acknowledged_at: i64,
    /// Route53 change id of the last update that changed something.
    #[serde(default)]
    pub change_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("creating {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What reading the state file gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    State(State),
    Missing,
    /// Unreadable or not our JSON: treated as no state.
    Corrupt(String),
}

impl Loaded {
    pub fn into_state(self) -> Option<State> {
        match self {
            Loaded::State(state) => Some(state),
            _ => None,
        }
    }
}

pub fn load(path: &Path) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Loaded::Missing,
        Err(e) => return Loaded::Corrupt(e.to_string()),
    };
    match serde_json::from_slice(&bytes) {
        Ok(state) => Loaded::State(state),
        Err(e) => Loaded::Corrupt(e.to_string()),
    }
}

/// Writes to a temporary file in the same directory, syncs it, and renames it over the old one,
/// so a power cut leaves either the old state or the new one. Creates the directory if needed.
pub fn save(path: &Path, state: &State) -> Result<(), StateError> {
    save_json(path, state)
}

/// [`save`] for any serialisable state (the watchdog keeps its own file the same way).
pub fn save_json<T: Serialize>(path: &Path, state: &T) -> Result<(), StateError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|source| StateError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let write_err = |source| StateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = tempfile::Builder::new()
        .prefix(".failberry-state")
        .tempfile_in(dir)
        .map_err(write_err)?;
    let mut json = serde_json::to_vec_pretty(state).expect("the state always serialises");
    json.push(b'\n');
    file.write_all(&json).map_err(write_err)?;
    file.as_file().sync_all().map_err(write_err)?;
    file.persist(path).map_err(|e| write_err(e.error))?;
    // Make the rename itself durable; not every filesystem lets a directory be synced.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        State {
            hostname: "wireless.home.example.com".into(),
            ipv4: Some(Ipv4Addr::new(81, 2, 69, 142)),
            ipv6: Some("2a01:4f8:c17:beef::2".parse().unwrap()),
            acknowledged_at: 1_764_000_000,
            change_id: Some("/change/C1".into()),
        }
    }

    #[test]
    fn round_trip_creates_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("var/lib/failberry/ddns-state.json");
        save(&path, &sample()).expect("saved");
        assert_eq!(load(&path), Loaded::State(sample()));

        let mut newer = sample();
        newer.ipv4 = None;
        newer.change_id = None;
        save(&path, &newer).expect("overwritten");
        assert_eq!(load(&path), Loaded::State(newer));
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            vec!["ddns-state.json"],
            "no temporary file left behind"
        );
    }

    #[test]
    fn missing_or_corrupt_files_are_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, Option<&[u8]>, bool); 5] = [
            ("missing", None, false),
            ("empty", Some(b""), true),
            (
                "truncated",
                Some(br#"{"hostname":"wireless.home.example.com","ipv4":"81.2"#),
                true,
            ),
            ("not json", Some(b"\x00\xff garbage"), true),
            ("wrong shape", Some(br#"{"hostname":1}"#), true),
        ];
        for (name, content, corrupt) in cases {
            let path = dir.path().join(name);
            if let Some(content) = content {
                std::fs::write(&path, content).unwrap();
            }
            let loaded = load(&path);
            assert_eq!(
                matches!(loaded, Loaded::Corrupt(_)),
                corrupt,
                "{name}: {loaded:?}"
            );
            assert_eq!(loaded.into_state(), None, "{name}");
        }
    }

    #[test]
    fn a_directory_in_the_way_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::create_dir(&path).unwrap();
        assert!(matches!(load(&path), Loaded::Corrupt(_)));
        assert!(save(&path, &sample()).is_err());
    }
}
