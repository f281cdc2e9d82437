//! `TraceContext`: where a request sits in its distributed trace.

use crate::wire::ids::{SpanId, TraceFlags, TraceId};
use crate::wire::traceparent::TraceParent;
use crate::wire::tracestate::TraceState;

/// Where a request sits in its distributed trace.
///
/// `span_id` identifies this service's handling of the request (useful in logs); every
/// outgoing call gets a further new span id as its `parent-id` (see [`TraceContext::child`]).
///
/// ```
/// use ctxflow_http::TraceContext;
/// let root = TraceContext::new_root(true);
/// assert_eq!(root.traceparent().trace_id, root.trace_id);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace, continued from the caller or started here.
    pub trace_id: TraceId,
    /// This service's span for the request.
    pub span_id: SpanId,
    /// The caller's span (`parent-id` of the incoming `traceparent`); `None` for a trace
    /// started here.
    pub parent_id: Option<SpanId>,
    /// Trace flags as received (or chosen for a new trace).
    pub flags: TraceFlags,
    /// Vendor state, forwarded unchanged.
    pub tracestate: TraceState,
}

impl TraceContext {
    /// A new trace: random trace id (so the random flag is set), no parent, empty tracestate.
    ///
    /// ```
    /// let t = ctxflow_http::TraceContext::new_root(false);
    /// assert!(t.flags.is_random() && !t.flags.is_sampled() && t.parent_id.is_none());
    /// ```
    pub fn new_root(sampled: bool) -> Self {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_id: None,
            flags: TraceFlags::RANDOM.with_sampled(sampled),
            tracestate: TraceState::new(),
        }
    }

    /// Continues the caller's trace: same trace id, flags and tracestate, a new span here.
    ///
    /// ```
    /// use ctxflow_http::{TraceContext, TraceParent, TraceState};
    /// let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
    /// let t = TraceContext::continued(tp, TraceState::new());
    /// assert_eq!((t.trace_id, t.parent_id), (tp.trace_id, Some(tp.parent_id)));
    /// ```
    pub fn continued(incoming: TraceParent, tracestate: TraceState) -> Self {
        TraceContext {
            trace_id: incoming.trace_id,
            span_id: SpanId::random(),
            parent_id: Some(incoming.parent_id),
            flags: incoming.flags,
            tracestate,
        }
    }

    /// The `traceparent` for one outgoing call: this trace, a new random parent-id, the flags
    /// this spec version knows (sampled and random kept as they are).
    ///
    /// ```
    /// let t = ctxflow_http::TraceContext::new_root(true);
    /// let (a, b) = (t.child(), t.child());
    /// assert_eq!(a.trace_id, b.trace_id);
    /// assert_ne!(a.parent_id, b.parent_id);
    /// ```
    pub fn child(&self) -> TraceParent {
        TraceParent::new(self.trace_id, SpanId::random(), self.flags.known())
    }

    /// The `traceparent` that names this service's span as the parent.
    ///
    /// ```
    /// let t = ctxflow_http::TraceContext::new_root(true);
    /// assert_eq!(t.traceparent().parent_id, t.span_id);
    /// ```
    pub fn traceparent(&self) -> TraceParent {
        TraceParent::new(self.trace_id, self.span_id, self.flags.known())
    }
}
