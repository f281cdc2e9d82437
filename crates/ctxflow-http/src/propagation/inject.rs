//! From the current context to the headers of one outgoing request.
//!
//! A header the caller already set always wins: the caller may be proxying a request, or
//! running its own tracer, and two `traceparent` fields would make the next service restart
//! the trace. `tracestate` is only added together with our own `traceparent`, since it
//! describes that trace. A `baggage` header that is already there is a list others add to
//! (OpenTelemetry's propagator may have written it first): the declared variables are added
//! to it rather than dropped.

use std::borrow::Cow;

use http::header::Entry;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::context::current::with_sent_baggage;
use crate::context::export::{self, outgoing};
use crate::context::{REQUEST_ID, TRACE};
use crate::header;
use crate::wire::baggage::Baggage;
use crate::wire::trace_context::TraceContext;

/// Writes the current context into `headers`: a `traceparent` with a new parent-id (each call
/// gets its own), the `tracestate`, the baggage with every declared variable, and the request
/// id. Headers already present are left untouched, but for `baggage`, which gets the declared
/// variables that are set (their current value replaces a member of the same key; the other
/// members stay). Outside any request (no [`TRACE`] set) no trace headers are written.
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
    inject_into(headers, &header::REQUEST_ID);
}

/// What [`inject_with`] and [`inject_message_with`](crate::inject_message_with) write beyond
/// the W3C headers: the header the request id is sent in.
///
/// ```
/// let o = ctxflow_http::InjectOptions::default();
/// assert_eq!(o.request_id_header, "x-request-id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InjectOptions {
    /// The header the request id is sent in (default [`header::REQUEST_ID`], `x-request-id`),
    /// to match the receiver's
    /// [`ExtractOptions::request_id_header`](crate::ExtractOptions::request_id_header).
    pub request_id_header: HeaderName,
}

impl Default for InjectOptions {
    fn default() -> Self {
        InjectOptions { request_id_header: header::REQUEST_ID }
    }
}

/// [`inject`], with the request id in the header `options` name.
///
/// ```
/// use ctxflow_http::{InjectOptions, REQUEST_ID, inject_with};
/// let mut options = InjectOptions::default();
/// options.request_id_header = http::HeaderName::from_static("x-correlation-id");
/// let mut headers = http::HeaderMap::new();
/// REQUEST_ID.sync_scope("c-7".parse().unwrap(), || inject_with(&mut headers, &options));
/// assert_eq!(headers["x-correlation-id"], "c-7");
/// assert!(!headers.contains_key("x-request-id"));
/// ```
pub fn inject_with(headers: &mut HeaderMap, options: &InjectOptions) {
    inject_into(headers, &options.request_id_header);
}

/// Where [`inject`]'s headers go: an HTTP header map, or a message's headers.
pub(crate) trait Sink {
    /// Writes `value()` under `name` unless the sink holds a field of that name; whether it
    /// wrote. `value` is only called when the field is absent.
    fn put_if_absent<V: AsRef<[u8]>>(&mut self, name: &HeaderName, value: impl FnOnce() -> Option<V>) -> bool;

    /// The text of every field of `name`, joined by commas (`None`: no field, or one that is
    /// not text).
    fn joined(&self, name: &HeaderName) -> Option<String>;

    /// Replaces every field of `name` with `value` (visible ASCII); an empty `value` removes
    /// them.
    fn replace(&mut self, name: &HeaderName, value: &str);
}

impl Sink for HeaderMap {
    fn joined(&self, name: &HeaderName) -> Option<String> {
        join_fields(self.get_all(name).iter().map(HeaderValue::to_str))
    }

    fn replace(&mut self, name: &HeaderName, value: &str) {
        if value.is_empty() {
            self.remove(name);
        } else if let Ok(value) = HeaderValue::from_str(value) {
            self.insert(name.clone(), value);
        }
    }

    fn put_if_absent<V: AsRef<[u8]>>(&mut self, name: &HeaderName, value: impl FnOnce() -> Option<V>) -> bool {
        let Entry::Vacant(slot) = self.entry(name) else { return false };
        // Everything we write is visible ASCII; a value that somehow is not is left out.
        match value().and_then(|v| HeaderValue::from_bytes(v.as_ref()).ok()) {
            Some(value) => {
                slot.insert(value);
                true
            }
            None => false,
        }
    }
}

/// Fields joined by commas; `None` when there is none, or one is not text.
pub(crate) fn join_fields<'a, E>(fields: impl Iterator<Item = Result<&'a str, E>>) -> Option<String> {
    let texts: Vec<&str> = fields.collect::<Result<_, _>>().ok()?;
    (!texts.is_empty()).then(|| texts.join(","))
}

/// [`inject`] into any [`Sink`], with the request id sent in `request_id_header`.
pub(crate) fn inject_into(sink: &mut impl Sink, request_id_header: &HeaderName) {
    put_current_trace(sink);
    // Most calls have no baggage to send: the header map is searched only when there is some.
    let wrote = with_sent_baggage(|sent| match sent.filter(|b| !b.is_empty()) {
        Some(baggage) => sink.put_if_absent(&header::BAGGAGE, || Some(BaggageText(baggage))),
        None => false,
    });
    if !wrote {
        add_exports(sink);
    }
    REQUEST_ID.with(|id| sink.put_if_absent(request_id_header, || id.map(|id| id.as_str().as_bytes())));
}

/// The current trace's headers: an OpenTelemetry span that is current is the parent, so the
/// callee's span links to a span that is exported; otherwise a new parent-id under `TRACE`.
fn put_current_trace(sink: &mut impl Sink) {
    #[cfg(feature = "opentelemetry")]
    if let Some(span) = crate::otel::current_span() {
        return put_trace(sink, &span, span.traceparent());
    }
    // The context's own trace: the span, if any, was answered above.
    TRACE.with_unshadowed(|trace| trace.map(|trace| put_trace(sink, trace, trace.child())));
}

/// Writes `parent` as the `traceparent`, and `trace`'s tracestate with it (only with our own
/// traceparent: tracestate describes that trace).
fn put_trace(sink: &mut impl Sink, trace: &TraceContext, parent: crate::wire::traceparent::TraceParent) {
    if sink.put_if_absent(&header::TRACEPARENT, || Some(parent.encode())) && !trace.tracestate.is_empty() {
        sink.put_if_absent(&header::TRACESTATE, || Some(trace.tracestate.as_str().as_bytes()));
    }
}

/// A `baggage` header is there already (the caller's own, or one that OpenTelemetry's
/// propagator wrote first): the declared variables are added to it, so that they are never
/// dropped. Theirs is the current value of the request, so a declared variable's member
/// replaces a member of the same key; every other member is kept as it is. Nothing is
/// rewritten when no declared variable is set, or when the header already says the same.
fn add_exports(sink: &mut impl Sink) {
    if !export::any_set() {
        return;
    }
    let Some(text) = sink.joined(&header::BAGGAGE) else { return };
    let (present, errors) = Baggage::parse_lossy(&text);
    if let Some(first) = errors.first() {
        crate::log::dropped(header::BAGGAGE.as_str(), &format_args!("in the outgoing header: {first}"));
    }
    if let Some(Cow::Owned(merged)) = outgoing(Some(&present)) {
        sink.replace(&header::BAGGAGE, merged.as_str());
    }
}

/// The outgoing baggage as the bytes of its header, borrowed when nothing was added to it.
struct BaggageText<'a>(Cow<'a, Baggage>);

impl AsRef<[u8]> for BaggageText<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_str().as_bytes()
    }
}
