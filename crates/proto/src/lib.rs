//! The wire contract shared by the failberry functions and the Pi client.
//!
//! Everything here is plain data and pure functions: no AWS types, no async runtime, no I/O.
//! A request is parsed and authenticated here, once; the functions and the client never re-decode
//! bodies or re-implement signing themselves.

pub mod address;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clips;
pub mod clock;
pub mod dyndns2;
pub mod hostname;
pub mod hosts;
pub mod legacy;
pub mod paths;
pub mod report;
pub mod secret;
pub mod signing;
pub mod update;

pub use clock::{Clock, SystemClock};
pub use secret::Secret;
pub use signing::{SignError, Signer, Stamps, KEY_ID_HEADER, SIGNATURE_HEADER};
pub use update::{ErrorBody, ErrorCode, MyIpResponse, UpdateRequest, UpdateResponse, UpdateStatus};
