//! The owner's editing commands (`host`, `target`, `config`) run end to end: each reads its
//! document with its ETag (`documents::begin`), applies the pure edit of `hosts` or `targets`,
//! checks and writes it conditionally (`documents::commit`), and returns what to print. Only
//! `host add` and `host rotate` return a secret, once. Finding the bucket is `stack`'s.

use std::path::Path;

use crate::documents::{begin, commit, push, Doc, DocumentStore, EditError, Location};
use crate::hosts::{self, Credentials, NewHost};
use crate::targets::{self, NewTarget};

/// `host add`: the new host with fresh credentials; prints the Pi's snippet and the ddclient /
/// router settings.
pub async fn host_add<S: DocumentStore>(
    store: &S,
    location: &Location,
    host: &NewHost,
    api_url: Option<&str>,
) -> Result<String, EditError> {
    let credentials = Credentials::generate(true, true)?;
    let draft = begin(store, location, Doc::Hosts).await?;
    let edited = hosts::add(draft.value.clone(), host, &credentials)?;
    commit(store, &draft, &edited).await?;
    let (name, _) = hosts::checked_name(&host.name, &host.zone)?;
    let user = host.dyndns2_user.clone().unwrap_or_else(|| name.clone());
    Ok(format!(
        "added host {name} to s3://{}/{}\n\n{}",
        location.bucket,
        location.hosts_key,
        hosts::instructions(&name, &user, api_url, &credentials)
    ))
}

/// `host rotate`: new credentials (the secret, the password, or both) printed once.
pub async fn host_rotate<S: DocumentStore>(
    store: &S,
    location: &Location,
    name: &str,
    secret: bool,
    password: bool,
    api_url: Option<&str>,
) -> Result<String, EditError> {
    // Neither flag: both.
    let (secret, password) = if secret || password {
        (secret, password)
    } else {
        (true, true)
    };
    let credentials = Credentials::generate(secret, password)?;
    let draft = begin(store, location, Doc::Hosts).await?;
    let edited = hosts::rotate(draft.value.clone(), name, &credentials)?;
    commit(store, &draft, &edited).await?;
    let rows =
        hosts::list(&serde_json::to_vec(&edited).expect("serialises")).map_err(|reason| {
            EditError::Invalid {
                doc: "hosts",
                reason: reason.into(),
            }
        })?;
    let wanted = failberry_proto::hostname::normalize_fqdn(name).unwrap_or_default();
    let user = rows
        .iter()
        .find(|r| r.name == wanted)
        .map_or(wanted.clone(), |r| r.dyndns2_user.clone());
    Ok(format!(
        "rotated host {wanted}: the old {} no longer work(s)\n\n{}",
        match (secret, password) {
            (true, true) => "secret and password",
            (true, false) => "secret",
            _ => "password",
        },
        hosts::instructions(&wanted, &user, api_url, &credentials)
    ))
}

/// `host remove`.
pub async fn host_remove<S: DocumentStore>(
    store: &S,
    location: &Location,
    name: &str,
) -> Result<String, EditError> {
    let draft = begin(store, location, Doc::Hosts).await?;
    let edited = hosts::remove(draft.value.clone(), name)?;
    commit(store, &draft, &edited).await?;
    Ok(format!("removed host {name}\n"))
}

/// `host list`: no secret, no hash.
pub async fn host_list<S: DocumentStore>(
    store: &S,
    location: &Location,
) -> Result<String, EditError> {
    let Some(doc) = store.read(&location.hosts_key).await? else {
        return Ok("no hosts document yet: `host add` creates it\n".into());
    };
    let rows = hosts::list(&doc.bytes).map_err(|reason| EditError::StoredInvalid {
        doc: "hosts",
        reason: reason.into(),
    })?;
    let mut out = format!(
        "{:<36} {:<24} {:<24} {:<7} {:<8} {}\n",
        "host", "zone", "zone id", "records", "dyndns2", "clips"
    );
    for r in rows {
        let dyndns2 = if r.dyndns2 {
            format!("user {}", r.dyndns2_user)
        } else {
            "off".into()
        };
        out.push_str(&format!(
            "{:<36} {:<24} {:<24} {:<7} {:<8} {}\n",
            r.name,
            r.zone,
            r.zone_id,
            r.record_types,
            dyndns2,
            if r.clips { "on" } else { "off" }
        ));
    }
    Ok(out)
}

/// `target add`.
pub async fn target_add<S: DocumentStore>(
    store: &S,
    location: &Location,
    target: &NewTarget,
) -> Result<String, EditError> {
    let draft = begin(store, location, Doc::Ping).await?;
    let edited = targets::add(draft.value.clone(), target)?;
    commit(store, &draft, &edited).await?;
    Ok(format!("added target {}\n", target.name))
}

/// `target remove`.
pub async fn target_remove<S: DocumentStore>(
    store: &S,
    location: &Location,
    name: &str,
) -> Result<String, EditError> {
    let draft = begin(store, location, Doc::Ping).await?;
    let edited = targets::remove(draft.value.clone(), name)?;
    commit(store, &draft, &edited).await?;
    Ok(format!("removed target {name}\n"))
}

/// `target list`, with what each target publishes.
pub async fn target_list<S: DocumentStore>(
    store: &S,
    location: &Location,
) -> Result<String, EditError> {
    let Some(doc) = store.read(&location.ping_key).await? else {
        return Ok("no ping document yet: `target add` creates it\n".into());
    };
    let rows = targets::list(&doc.bytes).map_err(|reason| EditError::StoredInvalid {
        doc: "ping",
        reason: reason.into(),
    })?;
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!(
            "{}{} {} (probes {}): {}\n",
            r.name,
            if r.link { " [link]" } else { "" },
            r.url,
            r.probes,
            r.publishes.join(", ")
        ));
    }
    Ok(out)
}

/// `config check`: a file when given, else the stored document.
pub async fn config_check<S: DocumentStore>(
    store: &S,
    location: &Location,
    doc: Doc,
    file: Option<&Path>,
) -> Result<String, EditError> {
    let (what, bytes) = match file {
        Some(path) => (path.display().to_string(), read_file(path)?),
        None => {
            let key = location.key(doc);
            let stored = store.read(key).await?.ok_or_else(|| EditError::Missing {
                doc: doc.name(),
                bucket: location.bucket.clone(),
                key: key.into(),
            })?;
            (format!("s3://{}/{key}", location.bucket), stored.bytes)
        }
    };
    let holds = doc.check(&bytes).map_err(|reason| EditError::Invalid {
        doc: doc.name(),
        reason,
    })?;
    Ok(format!(
        "{what}: a valid {} document, {holds}\n",
        doc.name()
    ))
}

/// `config pull`: the stored document into `file` (created 0600: the hosts document holds
/// secrets), or on stdout for the ping document. The second value is what goes on stdout.
pub async fn config_pull<S: DocumentStore>(
    store: &S,
    location: &Location,
    doc: Doc,
    file: Option<&Path>,
) -> Result<(String, Vec<u8>), EditError> {
    let key = location.key(doc);
    let stored = store.read(key).await?.ok_or_else(|| EditError::Missing {
        doc: doc.name(),
        bucket: location.bucket.clone(),
        key: key.into(),
    })?;
    let hint = format!(
        "push it back with: failberry-ctl config push {} FILE --if-match '{}'\n",
        doc.name(),
        stored.etag
    );
    match file {
        Some(path) => {
            write_private(path, &stored.bytes)?;
            Ok((
                format!(
                    "pulled {key} (ETag {}) into {}; {hint}",
                    stored.etag,
                    path.display()
                ),
                Vec::new(),
            ))
        }
        None if doc.has_secrets() => Err(EditError::Refused(format!(
            "the {} document holds secrets: give a FILE to pull it into",
            doc.name()
        ))),
        None => Ok((format!("ETag {}; {hint}", stored.etag), stored.bytes)),
    }
}

/// `config push`.
pub async fn config_push<S: DocumentStore>(
    store: &S,
    location: &Location,
    doc: Doc,
    file: &Path,
    if_match: Option<&str>,
) -> Result<String, EditError> {
    let bytes = read_file(file)?;
    let etag = push(store, location, doc, bytes, if_match).await?;
    Ok(format!(
        "pushed {} to s3://{}/{} (ETag {etag})\n",
        file.display(),
        location.bucket,
        location.key(doc)
    ))
}

fn read_file(path: &Path) -> Result<Vec<u8>, EditError> {
    std::fs::read(path).map_err(|e| EditError::Refused(format!("reading {}: {e}", path.display())))
}

/// Creates `path` readable by its owner only; refuses to overwrite.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EditError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let fail = |e: std::io::Error| EditError::Refused(format!("writing {}: {e}", path.display()));
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(bytes).map_err(fail)
}
