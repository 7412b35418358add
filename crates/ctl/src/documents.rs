//! The two config documents the owner edits (the hosts document the ddns and clips functions
//! read, the ping targets document), where they live, how each is checked (by the parser its
//! readers use: `failberry_proto::hosts`, `failberry_failover::ping::PingConfig`), and the one
//! safe way to change them: read with its ETag, edit, check, write only over that ETag
//! (`If-Match`; `If-None-Match: *` when creating), so two edits never overwrite each other.
//! What an edit does is left to `hosts` and `targets`.

use std::future::Future;

use failberry_aws::{DocumentError, DocumentSource, Fetched, S3Documents};
use serde_json::Value;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Doc {
    /// The hosts document (`ddns.json`): devices, their zones, secrets, dyndns2 password hashes.
    Hosts,
    /// The ping targets document (`ping.json`).
    Ping,
}

/// Why a document would be refused by the function reading it: that parser's own error.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Hosts(#[from] failberry_proto::hosts::HostsError),
    #[error(transparent)]
    Ping(#[from] failberry_failover::ping::PingConfigError),
    /// A checked document that is still not the JSON an edit reads.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl Doc {
    pub fn name(self) -> &'static str {
        match self {
            Doc::Hosts => "hosts",
            Doc::Ping => "ping",
        }
    }

    /// Checks a whole document as the function reading it would; `Ok` says what it holds.
    pub fn check(self, bytes: &[u8]) -> Result<String, CheckError> {
        Ok(match self {
            Doc::Hosts => {
                let c = failberry_proto::hosts::DdnsConfig::parse(bytes)?;
                format!("{} host(s)", c.hosts.len())
            }
            Doc::Ping => {
                let c = failberry_failover::ping::PingConfig::parse(bytes)?;
                format!("{} target(s)", c.targets.len())
            }
        })
    }

    /// Whether the document holds secrets (then it is never printed).
    pub fn has_secrets(self) -> bool {
        self == Doc::Hosts
    }
}

/// Where the documents are: one bucket, one key each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    pub hosts_key: String,
    pub ping_key: String,
}

impl Location {
    pub fn key(&self, doc: Doc) -> &str {
        match doc {
            Doc::Hosts => &self.hosts_key,
            Doc::Ping => &self.ping_key,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{doc} document s3://{bucket}/{key} does not exist yet")]
    Missing {
        doc: &'static str,
        bucket: String,
        key: String,
    },
    #[error(
        "{key} changed since it was read (someone else edited it at the same time): nothing was written; run the command again"
    )]
    Conflict { key: String },
    #[error("{key} exists: pass --if-match with the ETag `config pull` printed, so that no edit made since is overwritten")]
    ExistsWithoutEtag { key: String },
    #[error("the stored {doc} document is invalid ({reason}); fix it with `config pull` and `config push`")]
    StoredInvalid {
        doc: &'static str,
        reason: CheckError,
    },
    #[error("the edited {doc} document would be refused, nothing was written: {reason}")]
    Invalid {
        doc: &'static str,
        reason: CheckError,
    },
    #[error("{0}")]
    Refused(String),
    #[error("config bucket: {0}")]
    Store(String),
}

/// A stored document and the ETag it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    pub bytes: Vec<u8>,
    pub etag: String,
}

/// The capability to read and conditionally write documents by key (S3 in AWS and on the
/// emulator).
pub trait DocumentStore {
    fn read(&self, key: &str) -> impl Future<Output = Result<Option<Versioned>, EditError>>;
    /// Writes over exactly `if_match`, or only if nothing is there when `None`; the new ETag.
    fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
        if_match: Option<&str>,
    ) -> impl Future<Output = Result<String, EditError>>;
}

/// The documents in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl DocumentStore for S3Store {
    async fn read(&self, key: &str) -> Result<Option<Versioned>, EditError> {
        match S3Documents::new(self.client.clone(), &self.bucket, key)
            .fetch(None)
            .await
        {
            Ok(Fetched::Document { bytes, etag }) => Ok(Some(Versioned { bytes, etag })),
            Ok(Fetched::NotModified) => Err(EditError::Store("unexpected 304".into())),
            Err(DocumentError::NotFound { .. }) => Ok(None),
            Err(e) => Err(EditError::Store(e.to_string())),
        }
    }

    async fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
        if_match: Option<&str>,
    ) -> Result<String, EditError> {
        match S3Documents::new(self.client.clone(), &self.bucket, key)
            .put(bytes, if_match)
            .await
        {
            Ok(etag) => Ok(etag),
            Err(DocumentError::Conflict { .. }) => Err(EditError::Conflict { key: key.into() }),
            Err(e) => Err(EditError::Store(e.to_string())),
        }
    }
}

/// A document read for editing: its JSON (`None` when it does not exist yet) and the ETag the
/// write will be conditional on.
#[derive(Debug, Clone)]
pub struct Draft {
    pub doc: Doc,
    pub key: String,
    pub value: Option<Value>,
    pub etag: Option<String>,
}

/// Reads `doc` for editing. A stored document that does not check is refused: an edit never
/// builds on a broken document.
pub async fn begin<S: DocumentStore>(
    store: &S,
    location: &Location,
    doc: Doc,
) -> Result<Draft, EditError> {
    let key = location.key(doc).to_string();
    let Some(stored) = store.read(&key).await? else {
        return Ok(Draft {
            doc,
            key,
            value: None,
            etag: None,
        });
    };
    doc.check(&stored.bytes)
        .map_err(|reason| EditError::StoredInvalid {
            doc: doc.name(),
            reason,
        })?;
    let value = serde_json::from_slice(&stored.bytes).map_err(|e| EditError::StoredInvalid {
        doc: doc.name(),
        reason: e.into(),
    })?;
    Ok(Draft {
        doc,
        key,
        value: Some(value),
        etag: Some(stored.etag),
    })
}

/// Checks `value` as the function would and writes it over the draft's ETag (or only if the
/// document still does not exist). Returns the new ETag.
pub async fn commit<S: DocumentStore>(
    store: &S,
    draft: &Draft,
    value: &Value,
) -> Result<String, EditError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a JSON value serialises");
    bytes.push(b'\n');
    draft
        .doc
        .check(&bytes)
        .map_err(|reason| EditError::Invalid {
            doc: draft.doc.name(),
            reason,
        })?;
    store.write(&draft.key, bytes, draft.etag.as_deref()).await
}

/// Pushes a whole document from a file: checked first, written over `if_match` (the ETag `config
/// pull` printed), or created when there is none and nothing is stored.
pub async fn push<S: DocumentStore>(
    store: &S,
    location: &Location,
    doc: Doc,
    bytes: Vec<u8>,
    if_match: Option<&str>,
) -> Result<String, EditError> {
    doc.check(&bytes).map_err(|reason| EditError::Invalid {
        doc: doc.name(),
        reason,
    })?;
    let key = location.key(doc);
    if if_match.is_none() && store.read(key).await?.is_some() {
        return Err(EditError::ExistsWithoutEtag { key: key.into() });
    }
    store.write(key, bytes, if_match).await
}
