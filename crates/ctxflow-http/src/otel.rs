//! Bridge to OpenTelemetry (feature `opentelemetry`): the same ids on both sides.
//!
//! A service that runs OpenTelemetry next to ctxflow must see one trace, not two, so our ids
//! convert losslessly into OpenTelemetry's (and back, refusing the all-zero ids that
//! OpenTelemetry uses as "invalid"). The trace context of a request converts into a remote
//! `SpanContext` that OpenTelemetry can use as the parent of its server span.

use opentelemetry::trace as otel;

use crate::wire::baggage::Baggage;
use crate::wire::ids::{SpanId, TraceFlags, TraceId};
use crate::wire::member::Member;
use crate::wire::trace_context::TraceContext;
use crate::wire::tracestate::TraceState;

impl From<TraceId> for otel::TraceId {
    fn from(id: TraceId) -> Self {
        otel::TraceId::from_bytes(id.to_bytes())
    }
}

impl From<SpanId> for otel::SpanId {
    fn from(id: SpanId) -> Self {
        otel::SpanId::from_bytes(id.to_bytes())
    }
}

impl From<TraceFlags> for otel::TraceFlags {
    fn from(flags: TraceFlags) -> Self {
        otel::TraceFlags::new(flags.bits())
    }
}

impl TryFrom<otel::TraceId> for TraceId {
    type Error = crate::wire::ids::IdError;

    fn try_from(id: otel::TraceId) -> Result<Self, Self::Error> {
        TraceId::from_bytes(id.to_bytes()).ok_or(crate::wire::ids::IdError::AllZeros)
    }
}

impl TryFrom<otel::SpanId> for SpanId {
    type Error = crate::wire::ids::IdError;

    fn try_from(id: otel::SpanId) -> Result<Self, Self::Error> {
        SpanId::from_bytes(id.to_bytes()).ok_or(crate::wire::ids::IdError::AllZeros)
    }
}

impl TraceContext {
    /// The caller's span as an OpenTelemetry remote `SpanContext` (this trace, the incoming
    /// parent-id, flags and tracestate), or `None` for a trace started here.
    ///
    /// ```
    /// use ctxflow_http::{TraceContext, TraceParent, TraceState};
    /// let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
    /// let sc = TraceContext::continued(tp, TraceState::new()).remote_span_context().unwrap();
    /// assert_eq!(sc.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// assert!(sc.is_remote() && sc.is_sampled());
    /// ```
    pub fn remote_span_context(&self) -> Option<otel::SpanContext> {
        let parent = self.parent_id?;
        let state = otel::TraceState::from_key_value(self.tracestate.iter()).unwrap_or_default();
        Some(otel::SpanContext::new(self.trace_id.into(), parent.into(), self.flags.into(), true, state))
    }
}

impl TraceContext {
    /// The trace context of an OpenTelemetry span: its trace id, its span id (so that what
    /// names it as a parent points at a span that is exported), flags and tracestate; no
    /// parent-id (the span knows its parent, the context does not). `None` for an invalid
    /// span context.
    ///
    /// ```
    /// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    /// let sc = SpanContext::new(
    ///     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
    ///     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
    ///     TraceFlags::SAMPLED,
    ///     false,
    ///     TraceState::default(),
    /// );
    /// let t = ctxflow_http::TraceContext::from_span_context(&sc).unwrap();
    /// assert_eq!((t.trace_id.to_string(), t.span_id.to_string()), ("4bf92f3577b34da6a3ce929d0e0e4736".into(), "00f067aa0ba902b7".into()));
    /// ```
    pub fn from_span_context(sc: &otel::SpanContext) -> Option<TraceContext> {
        if !sc.is_valid() {
            return None;
        }
        Some(TraceContext {
            trace_id: TraceId::try_from(sc.trace_id()).ok()?,
            span_id: SpanId::try_from(sc.span_id()).ok()?,
            parent_id: None,
            flags: TraceFlags::from_bits(sc.trace_flags().to_u8()),
            // A state OpenTelemetry accepted but our stricter parser refuses is not forwarded.
            tracestate: TraceState::parse(&sc.trace_state().header()).unwrap_or_default(),
        })
    }
}

/// The span OpenTelemetry holds current on this thread (tracing-opentelemetry makes it so while
/// a span is entered), as a trace context.
pub(crate) fn current_span() -> Option<TraceContext> {
    use otel::TraceContextExt;
    TraceContext::from_span_context(opentelemetry::Context::current().span().span_context())
}

/// `base` with the entries set through OpenTelemetry's Baggage API in the current context laid
/// over it (an entry replaces a member of the same key); `None` when there are none. An entry
/// that cannot be a W3C baggage member (a key that is not a token, a list over the limits) is
/// left out, with a debug event.
pub(crate) fn with_otel_baggage(base: Option<&Baggage>) -> Option<Baggage> {
    use opentelemetry::baggage::BaggageExt;
    let cx = opentelemetry::Context::current();
    let entries = cx.baggage();
    if entries.is_empty() {
        return None;
    }
    let mut merged = base.cloned().unwrap_or_default();
    for (key, (value, _)) in entries {
        if let Err(e) = Member::new(key.as_str(), value.as_str()).and_then(|m| merged.insert(m)) {
            crate::log::dropped(
                crate::header::BAGGAGE.as_str(),
                &format_args!("OpenTelemetry baggage entry {key:?}: {e}"),
            );
        }
    }
    Some(merged)
}
