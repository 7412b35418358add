//! Whole API Gateway HTTP API events (payload 2.0) as the Lambda runtime receives them: parsed by
//! `lambda_http` as the runtime does and handed to the ddns handler.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: failberry_fuzz::quiet_panics(), |data: &[u8]| {
    if let Ok(json) = std::str::from_utf8(data) {
        failberry_fuzz::handle_event(json);
    }
});
