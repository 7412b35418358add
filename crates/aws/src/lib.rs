//! AWS adapters shared by failberry's functions and the owner's tool: JSON documents kept in S3
//! (read through an ETag-revalidated cache, written with conditional puts) and the jittered
//! retry used around every AWS write. Domain decisions stay in the function crates.

pub mod document;
pub mod retry;

pub use document::{DocumentCache, DocumentError, DocumentSource, Fetched, S3Documents};
pub use retry::{retry, Backoff};
