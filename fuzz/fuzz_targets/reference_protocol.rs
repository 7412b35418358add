//! The AWS reference solution's protocol at the API's root: a JSON body (`POST /`) and the older
//! `?mode=get|set&hostname=&hash=` query (`GET /`), both from the input.
#![no_main]

use failberry_fuzz::{event_json, fields, handle_event};
use failberry_proto::paths;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: failberry_fuzz::quiet_panics(), |data: &[u8]| {
    let [query, body] = fields::<2>(data);
    handle_event(&event_json(
        "POST",
        paths::LEGACY_ROOT,
        "",
        &[],
        Some(&body),
        "81.2.69.142",
    ));
    handle_event(&event_json(
        "GET",
        paths::LEGACY_ROOT,
        &query,
        &[],
        None,
        "81.2.69.142",
    ));
});
