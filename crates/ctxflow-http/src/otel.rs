//! Bridge to OpenTelemetry (feature `opentelemetry`): the same ids on both sides.
//!
//! A service that runs OpenTelemetry next to ctxflow must see one trace, not two, so our ids
//! convert losslessly into OpenTelemetry's (and back, refusing the all-zero ids that
//! OpenTelemetry uses as "invalid"). The trace context of a request converts into a remote
//! `SpanContext` that OpenTelemetry can use as the parent of its server span.

use opentelemetry::trace as otel;

use crate::context::TraceContext;
use crate::ids::{SpanId, TraceFlags, TraceId};

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
    type Error = crate::ids::IdError;

    fn try_from(id: otel::TraceId) -> Result<Self, Self::Error> {
        TraceId::from_bytes(id.to_bytes()).ok_or(crate::ids::IdError::AllZeros)
    }
}

impl TryFrom<otel::SpanId> for SpanId {
    type Error = crate::ids::IdError;

    fn try_from(id: otel::SpanId) -> Result<Self, Self::Error> {
        SpanId::from_bytes(id.to_bytes()).ok_or(crate::ids::IdError::AllZeros)
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
