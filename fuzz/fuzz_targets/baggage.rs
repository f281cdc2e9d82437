//! `baggage`: any bytes, split into header fields at newlines. Never panics; what is kept is
//! within 64 members and 8192 bytes, and reads back identical from its own output.
#![no_main]

use ctxflow_http::{Baggage, limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = http::HeaderMap::new();
    for field in data.split(|b| *b == b'\n') {
        if let Ok(value) = http::HeaderValue::from_bytes(field) {
            headers.append("baggage", value);
        }
    }
    let (baggage, _dropped) = Baggage::from_headers(&headers);
    assert!(baggage.len() <= limits::BAGGAGE_MAX_MEMBERS);
    assert!(baggage.wire_len() <= limits::BAGGAGE_MAX_BYTES);
    let text = baggage.to_string();
    assert_eq!(text.len(), baggage.wire_len());
    assert_eq!(Baggage::parse(&text).as_ref(), Ok(&baggage));
    for member in baggage.iter() {
        let _ = (member.value(), member.properties().count());
    }
});
