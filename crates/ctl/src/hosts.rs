//! Host edits on the hosts document, as pure functions over its JSON: add (with freshly generated
//! credentials), rotate, remove, list without secrets; the credentials themselves (device secret
//! 256 bits, dyndns2 password 144 bits, both from the OS RNG; only the password's SHA-256 is
//! stored); and what the owner is told after an add or a rotation (the Pi's config snippet, the
//! ddclient and router settings). Reading and writing the document is `documents`'s.
//! (Over 400 lines through its table tests: the code is some 240 lines.)

use failberry_proto::hostname::normalize_fqdn;
use failberry_proto::paths;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::documents::EditError;

/// Bytes of the device secret: 256 bits.
pub const SECRET_BYTES: usize = 32;
/// Bytes of the dyndns2 password: 144 bits, 24 URL-safe characters that any router accepts.
pub const PASSWORD_BYTES: usize = 18;

/// Freshly generated credentials of a host: shown once, never stored as such except the secret
/// (the functions need it to verify signatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub secret: Option<String>,
    pub password: Option<String>,
}

fn random_token(bytes: usize) -> Result<String, EditError> {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| EditError::Refused(format!("the OS random generator failed: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

impl Credentials {
    /// New credentials from the OS RNG: the secret, the password, or both.
    pub fn generate(secret: bool, password: bool) -> Result<Self, EditError> {
        Ok(Self {
            secret: secret.then(|| random_token(SECRET_BYTES)).transpose()?,
            password: password.then(|| random_token(PASSWORD_BYTES)).transpose()?,
        })
    }
}

/// What the password is stored as: the hex SHA-256 the ddns function compares against.
pub fn password_hash(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

/// A host to add.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub name: String,
    pub zone: String,
    pub zone_id: String,
    pub dyndns2_user: Option<String>,
    pub clips: bool,
}

/// The host's key in the document, checked against its zone.
pub fn checked_name(name: &str, zone: &str) -> Result<(String, String), EditError> {
    let host = normalize_fqdn(name)
        .ok_or_else(|| EditError::Refused(format!("{name:?} is not a fully qualified name")))?;
    let zone = normalize_fqdn(zone)
        .ok_or_else(|| EditError::Refused(format!("zone {zone:?} is not a domain name")))?;
    if !(host.ends_with(&format!(".{zone}")) || host == zone) {
        return Err(EditError::Refused(format!(
            "{host} is not inside zone {zone}"
        )));
    }
    Ok((host, zone))
}

fn hosts_mut(doc: &mut Value) -> &mut Map<String, Value> {
    if !doc["hosts"].is_object() {
        doc["hosts"] = json!({});
    }
    doc["hosts"].as_object_mut().expect("just made an object")
}

fn find_key(doc: &Value, name: &str) -> Option<String> {
    let wanted = normalize_fqdn(name)?;
    doc["hosts"]
        .as_object()?
        .keys()
        .find(|k| normalize_fqdn(k).as_deref() == Some(wanted.as_str()))
        .cloned()
}

/// `doc` (or a new document) with `host` added under `credentials` (both must be present).
pub fn add(
    doc: Option<Value>,
    host: &NewHost,
    credentials: &Credentials,
) -> Result<Value, EditError> {
    let (name, zone) = checked_name(&host.name, &host.zone)?;
    let mut doc = doc.unwrap_or_else(|| json!({"hosts": {}}));
    if find_key(&doc, &name).is_some() {
        return Err(EditError::Refused(format!(
            "host {name} exists: `host rotate` renews its credentials, `host remove` drops it"
        )));
    }
    let (Some(secret), Some(password)) = (&credentials.secret, &credentials.password) else {
        return Err(EditError::Refused(
            "a new host needs a secret and a password".into(),
        ));
    };
    let mut entry = json!({
        "zone_id": host.zone_id.trim_start_matches("/hostedzone/"),
        "zone": zone,
        "secret": secret,
        "dyndns2_password_sha256": password_hash(password),
    });
    if let Some(user) = &host.dyndns2_user {
        entry["dyndns2_user"] = json!(user);
    }
    if host.clips {
        entry["clips"] = json!({"enabled": true});
    }
    hosts_mut(&mut doc).insert(name, entry);
    Ok(doc)
}

/// `doc` with the host's credentials replaced by those present in `credentials`.
pub fn rotate(
    doc: Option<Value>,
    name: &str,
    credentials: &Credentials,
) -> Result<Value, EditError> {
    let mut doc = doc.ok_or_else(|| no_such_host(name))?;
    let key = find_key(&doc, name).ok_or_else(|| no_such_host(name))?;
    let entry = &mut hosts_mut(&mut doc)[&key];
    if let Some(secret) = &credentials.secret {
        entry["secret"] = json!(secret);
    }
    if let Some(password) = &credentials.password {
        entry["dyndns2_password_sha256"] = json!(password_hash(password));
    }
    Ok(doc)
}

/// `doc` without the host.
pub fn remove(doc: Option<Value>, name: &str) -> Result<Value, EditError> {
    let mut doc = doc.ok_or_else(|| no_such_host(name))?;
    let key = find_key(&doc, name).ok_or_else(|| no_such_host(name))?;
    hosts_mut(&mut doc).remove(&key);
    Ok(doc)
}

fn no_such_host(name: &str) -> EditError {
    EditError::Refused(format!(
        "no host {name} in the hosts document (`host list` shows them)"
    ))
}

/// One host as `host list` shows it: no secret, no hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRow {
    pub name: String,
    pub zone: String,
    pub zone_id: String,
    pub record_types: String,
    pub dyndns2_user: String,
    pub dyndns2: bool,
    pub clips: bool,
}

/// The hosts of a checked document, sorted by name.
pub fn list(doc: &[u8]) -> Result<Vec<HostRow>, failberry_proto::hosts::HostsError> {
    let config = failberry_proto::hosts::DdnsConfig::parse(doc)?;
    let mut rows: Vec<HostRow> = config
        .hosts
        .values()
        .map(|h| HostRow {
            name: h.name.clone(),
            zone: h.zone.clone(),
            zone_id: h.zone_id.clone(),
            record_types: match (h.allow_a, h.allow_aaaa) {
                (true, true) => "A,AAAA",
                (true, false) => "A",
                _ => "AAAA",
            }
            .into(),
            dyndns2_user: h.dyndns2_user.clone().unwrap_or_else(|| h.name.clone()),
            dyndns2: h.dyndns2_password_sha256.is_some(),
            clips: h.clips.enabled,
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// What the owner is told once after `host add` or `host rotate`: the Pi's config snippet (the
/// keys of `client/src/config/raw.rs`) and the ddclient and router settings. `api_url` is the
/// stack's `ApiUrl` output when known.
pub fn instructions(
    name: &str,
    user: &str,
    api_url: Option<&str>,
    credentials: &Credentials,
) -> String {
    let api = api_url.unwrap_or("https://<ApiUrl output of the stack>");
    let server = api
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut out = String::new();
    if let Some(secret) = &credentials.secret {
        out.push_str(&format!(
            "# /etc/failberry/config.toml on the Pi (mode 0600): the device secret is shown only now.\n\
             [api]\n\
             url = \"{api}\"\n\n\
             [ddns]\n\
             hostname = \"{name}\"\n\
             secret = \"{secret}\"\n\
             # the wireless link's interface, whose address the record must carry:\n\
             # ipv4_interface = \"wwan0\"\n\n"
        ));
    }
    if let Some(password) = &credentials.password {
        out.push_str(&format!(
            "# ddclient (/etc/ddclient.conf): the password is shown only now.\n\
             protocol=dyndns2\n\
             ssl=yes\n\
             server={server}\n\
             login={user}\n\
             password='{password}'\n\
             {name}\n\n\
             # A router's custom dyndns2 provider:\n\
             #   server/URL: https://{server}{}?hostname=<domain>&myip=<ipaddr>\n\
             #   username:   {user}\n\
             #   password:   {password}\n\
             #   hostname:   {name}\n",
            paths::NIC_UPDATE
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> NewHost {
        NewHost {
            name: name.into(),
            zone: "home.example.com".into(),
            zone_id: "/hostedzone/Z123".into(),
            dyndns2_user: None,
            clips: false,
        }
    }

    fn creds() -> Credentials {
        Credentials::generate(true, true).unwrap()
    }

    fn check(doc: &Value) -> Result<String, String> {
        crate::documents::Doc::Hosts
            .check(&serde_json::to_vec(doc).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn generated_credentials_are_long_random_and_url_safe() {
        let a = creds();
        let b = creds();
        let (secret, password) = (a.secret.clone().unwrap(), a.password.clone().unwrap());
        assert_eq!(
            (secret.len(), password.len()),
            (43, 24),
            "256 and 144 bits in base64url"
        );
        assert_ne!(a, b, "two draws differ");
        assert!(secret
            .chars()
            .chain(password.chars())
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let only_password = Credentials::generate(false, true).unwrap();
        assert!(only_password.secret.is_none() && only_password.password.is_some());
    }

    #[test]
    fn an_added_host_is_one_the_functions_accept_and_stores_only_the_password_hash() {
        let c = creds();
        let doc = add(None, &host("Wireless.Home.Example.com."), &c).unwrap();
        assert_eq!(check(&doc), Ok("1 host(s)".into()));
        let entry = &doc["hosts"]["wireless.home.example.com"];
        assert_eq!(entry["zone_id"], "Z123");
        let text = doc.to_string();
        assert!(
            !text.contains(c.password.as_deref().unwrap()),
            "no clear password"
        );
        assert_eq!(
            entry["dyndns2_password_sha256"],
            password_hash(c.password.as_deref().unwrap())
        );
        let config = failberry_proto::hosts::DdnsConfig::parse(text.as_bytes()).unwrap();
        let user = "wireless.home.example.com";
        assert_eq!(
            config
                .dyndns2_account(user, c.password.as_deref().unwrap())
                .len(),
            1
        );
        assert!(config.dyndns2_account(user, "wrong").is_empty());
    }

    #[test]
    fn edits_refused_with_one_clear_reason() {
        let doc = add(None, &host("pi.home.example.com"), &creds()).unwrap();
        let cases: Vec<(&str, Result<Value, EditError>, &str)> = vec![
            (
                "twice",
                add(Some(doc.clone()), &host("PI.home.example.com"), &creds()),
                "exists",
            ),
            (
                "outside the zone",
                add(None, &host("pi.example.org"), &creds()),
                "not inside zone",
            ),
            (
                "not a name",
                add(None, &host("not a name"), &creds()),
                "not a fully qualified name",
            ),
            (
                "rotate unknown",
                rotate(Some(doc.clone()), "x.home.example.com", &creds()),
                "no host",
            ),
            (
                "remove unknown",
                remove(Some(doc.clone()), "x.home.example.com"),
                "no host",
            ),
            (
                "remove from nothing",
                remove(None, "pi.home.example.com"),
                "no host",
            ),
        ];
        for (name, got, want) in cases {
            let e = got.expect_err(name).to_string();
            assert!(e.contains(want), "{name}: {e}");
            assert!(!e.contains('\n'), "{name}: one line");
        }
    }

    #[test]
    fn rotate_replaces_only_what_it_is_asked() {
        let first = creds();
        let doc = add(None, &host("pi.home.example.com"), &first).unwrap();
        let before = doc["hosts"]["pi.home.example.com"].clone();
        let only_password = Credentials::generate(false, true).unwrap();
        let doc = rotate(Some(doc), "pi.home.example.com.", &only_password).unwrap();
        let after = &doc["hosts"]["pi.home.example.com"];
        assert_eq!(after["secret"], before["secret"]);
        assert_ne!(
            after["dyndns2_password_sha256"],
            before["dyndns2_password_sha256"]
        );
        assert_eq!(check(&doc), Ok("1 host(s)".into()));
        let doc = remove(Some(doc), "pi.home.example.com").unwrap();
        assert_eq!(check(&doc), Ok("0 host(s)".into()));
    }

    #[test]
    fn the_list_shows_no_secret() {
        let c = creds();
        let mut new = host("pi.home.example.com");
        new.clips = true;
        new.dyndns2_user = Some("router".into());
        let doc = add(None, &new, &c).unwrap();
        let rows = list(doc.to_string().as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].clips,
                rows[0].dyndns2,
                rows[0].dyndns2_user.as_str()
            ),
            (true, true, "router")
        );
        let shown = serde_json::to_string(&rows).unwrap();
        let password = c.password.unwrap();
        for secret in [c.secret.unwrap(), password_hash(&password), password] {
            assert!(!shown.contains(&secret), "{shown}");
        }
    }

    #[test]
    fn the_instructions_carry_the_client_keys_and_the_dyndns2_path() {
        let c = creds();
        let text = instructions(
            "pi.home.example.com",
            "pi.home.example.com",
            Some("https://abc.example/"),
            &c,
        );
        let pi: String = text
            .lines()
            .take_while(|l| !l.starts_with("# ddclient"))
            .collect::<Vec<_>>()
            .join("\n");
        let toml: toml::Value = toml::from_str(&pi).expect("the snippet is TOML");
        assert_eq!(
            toml["ddns"]["hostname"].as_str(),
            Some("pi.home.example.com")
        );
        assert_eq!(toml["ddns"]["secret"].as_str(), c.secret.as_deref());
        assert_eq!(toml["api"]["url"].as_str(), Some("https://abc.example/"));
        assert!(text.contains("server=abc.example\n"));
        assert!(text.contains(&format!(
            "https://abc.example{}?hostname=",
            paths::NIC_UPDATE
        )));
        let password_only = Credentials::generate(false, true).unwrap();
        let text = instructions("pi.home.example.com", "u", None, &password_only);
        assert!(!text.contains("[ddns]") && text.contains("login=u"));
    }
}
