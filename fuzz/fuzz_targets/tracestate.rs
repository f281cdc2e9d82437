//! `tracestate`: any bytes, split into header fields at newlines. Never panics; an accepted
//! list has at most 32 members and reads back identical from its own output.
#![no_main]

use ctxflow_http::TraceState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = http::HeaderMap::new();
    for field in data.split(|b| *b == b'\n') {
        if let Ok(value) = http::HeaderValue::from_bytes(field) {
            headers.append("tracestate", value);
        }
    }
    if let Ok(ts) = TraceState::from_headers(&headers) {
        assert!(ts.len() <= ctxflow_http::limits::TRACESTATE_MAX_MEMBERS);
        assert_eq!(TraceState::parse(ts.as_str()).as_ref(), Ok(&ts));
    }
});
