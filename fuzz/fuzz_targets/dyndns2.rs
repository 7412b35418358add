//! `GET /nic/update`: the query string and the Basic auth credentials from the input (the
//! credentials base64-encoded as a client would, or the raw header when the first byte is odd).
#![no_main]

use base64::Engine;
use failberry_fuzz::{event_json, fields, handle_event};
use failberry_proto::paths;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: failberry_fuzz::quiet_panics(), |data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let [query, credentials] = fields::<2>(rest);
    let auth = if mode % 2 == 0 {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    } else {
        credentials
    };
    let headers = vec![("authorization".to_string(), auth)];
    handle_event(&event_json(
        "GET",
        paths::NIC_UPDATE,
        &query,
        &headers,
        None,
        "81.2.69.142",
    ));
});
