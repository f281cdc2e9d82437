//! `traceparent`: any bytes, as one or more header fields. Never panics; whatever parses
//! formats back to a version-00 header that parses to the same ids.
#![no_main]

use ctxflow_http::TraceParent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(tp) = TraceParent::parse(text)
    {
        let again = TraceParent::parse(&tp.to_string()).expect("our output parses");
        assert_eq!((again.trace_id, again.parent_id, again.flags), (tp.trace_id, tp.parent_id, tp.flags.known()));
    }
    let mut headers = http::HeaderMap::new();
    for field in data.split(|b| *b == b'\n') {
        if let Ok(value) = http::HeaderValue::from_bytes(field) {
            headers.append("traceparent", value);
        }
    }
    let _ = TraceParent::from_headers(&headers);
});
