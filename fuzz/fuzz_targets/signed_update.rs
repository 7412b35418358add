//! `POST /v1/update`: key id, signature and body from the input; when the first byte is even the
//! body is signed correctly, so the body's own parsing and checks are reached.
#![no_main]

use failberry_fuzz::{event_json, fields, handle_event, HOST, SECRET};
use failberry_proto::{paths, Signer, KEY_ID_HEADER, SIGNATURE_HEADER};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: failberry_fuzz::quiet_panics(), |data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let [key_id, signature, body] = fields::<3>(rest);
    let headers: Vec<(String, String)> = if mode % 2 == 0 {
        Signer::new(HOST, SECRET)
            .headers("POST", paths::UPDATE, body.as_bytes())
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    } else {
        vec![
            (KEY_ID_HEADER.into(), key_id),
            (SIGNATURE_HEADER.into(), signature),
        ]
    };
    handle_event(&event_json(
        "POST",
        paths::UPDATE,
        "",
        &headers,
        Some(&body),
        "81.2.69.142",
    ));
});
