//! The ping function: an EventBridge-scheduled Lambda that probes the home links and any other
//! site over HTTP(S) and times each phase. So far: the targets document (`config`), the timed
//! probe (`probe`) and the decision whether a probe found its target up (`verdict`).

pub mod config;
pub mod probe;
pub mod verdict;

pub use config::{Emit, PingConfig, Target};
pub use probe::{probe_all, Observation, Prober};
pub use verdict::{judge, ErrorKind, Verdict};
