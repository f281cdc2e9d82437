//! From the current context to the headers of one outgoing request.
//!
//! A header the caller already set always wins: the caller may be proxying a request, or
//! running its own tracer, and two `traceparent` fields would make the next service restart
//! the trace. `tracestate` is only added together with our own `traceparent`, since it
//! describes that trace.

use http::header::{Entry, VacantEntry};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::context::{BAGGAGE, REQUEST_ID, TRACE};
use crate::export::outgoing;
use crate::header;

/// Writes the current context into `headers`: a `traceparent` with a new parent-id (each call
/// gets its own), the `tracestate`, the baggage with every declared variable, and the request
/// id. Headers already present are left untouched. Outside any request (no [`TRACE`] set) no
/// trace headers are written.
///
/// Use it directly with clients that are not tower services, e.g. reqwest:
/// `let mut req = client.get(url).build()?; ctxflow_http::inject(req.headers_mut());`
///
/// ```
/// use ctxflow_http::{TRACE, TraceContext};
/// let mut headers = http::HeaderMap::new();
/// TRACE.sync_scope(TraceContext::new_root(true), || ctxflow_http::inject(&mut headers));
/// assert!(headers["traceparent"].to_str().unwrap().ends_with("-03"));
///
/// let mut mine = http::HeaderMap::new();
/// mine.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".parse().unwrap());
/// TRACE.sync_scope(TraceContext::new_root(true), || ctxflow_http::inject(&mut mine));
/// assert_eq!(mine.get_all("traceparent").iter().count(), 1);
/// assert!(mine["traceparent"].to_str().unwrap().ends_with("-00"), "the caller's header is kept");
/// ```
pub fn inject(headers: &mut HeaderMap) {
    inject_with(headers, &header::REQUEST_ID);
}

/// [`inject`], with the request id sent in `request_id_header`.
pub(crate) fn inject_with(headers: &mut HeaderMap, request_id_header: &HeaderName) {
    TRACE.with(|trace| {
        let Some(trace) = trace else { return };
        if let Entry::Vacant(slot) = headers.entry(header::TRACEPARENT) {
            put(slot, &trace.child().encode());
            // Only with our own traceparent: it describes that trace.
            if !trace.tracestate.is_empty()
                && let Entry::Vacant(slot) = headers.entry(header::TRACESTATE)
            {
                put(slot, trace.tracestate.as_str().as_bytes());
            }
        }
    });
    if let Entry::Vacant(slot) = headers.entry(header::BAGGAGE) {
        BAGGAGE.with(|incoming| match outgoing(incoming) {
            Some(baggage) if !baggage.is_empty() => put(slot, baggage.as_str().as_bytes()),
            _ => {}
        });
    }
    if let Entry::Vacant(slot) = headers.entry(request_id_header) {
        REQUEST_ID.with(|id| id.map(|id| put(slot, id.as_str().as_bytes())));
    }
}

fn put(slot: VacantEntry<'_, HeaderValue>, value: &[u8]) {
    // Everything we write is visible ASCII; a value that somehow is not is left out.
    if let Ok(value) = HeaderValue::from_bytes(value) {
        slot.insert(value);
    }
}
