//! The context variables this crate fills for every request, and the trace context they hold.
//!
//! Three variables rather than one struct so that code which only needs the request id never
//! clones a baggage list, and so that each can be read, scoped or replaced on its own with the
//! ordinary `ContextVar` API. They are bound together, in one frame, by the server layer.

use ctxflow::ContextVar;

use crate::baggage::Baggage;
use crate::ids::{SpanId, TraceFlags, TraceId};
use crate::request_id::RequestId;
use crate::traceparent::TraceParent;
use crate::tracestate::TraceState;

/// The trace context of the current request (set by [`ServerLayer`](crate::ServerLayer)).
///
/// ```
/// use ctxflow_http::{TRACE, TraceContext};
/// let ctx = TraceContext::new_root(true);
/// let id = ctx.trace_id;
/// assert_eq!(TRACE.sync_scope(ctx, || TRACE.with(|t| t.map(|t| t.trace_id))), Some(id));
/// ```
pub static TRACE: ContextVar<TraceContext> = ContextVar::new("ctxflow_http::trace");

/// The incoming baggage of the current request, every member as received (declared exports
/// are also bound to their own variables; see [`Baggage::export`]).
///
/// Empty by default: a request that brings no baggage leaves the variable unset (which costs
/// nothing), and reading it gives the empty list, as it does outside any request.
///
/// ```
/// use ctxflow_http::{BAGGAGE, Baggage};
/// let b: Baggage = "tenant=acme".parse().unwrap();
/// BAGGAGE.sync_scope(b, || assert_eq!(BAGGAGE.with(|b| b.and_then(|b| b.get("tenant").map(|v| v.into_owned()))), Some("acme".into())));
/// assert_eq!(BAGGAGE.get(), Some(Baggage::new()));
/// ```
pub static BAGGAGE: ContextVar<Baggage> = ContextVar::new("ctxflow_http::baggage").with_default(Baggage::new);

/// The id of the current request: the incoming `x-request-id` when valid, else a fresh one.
///
/// ```
/// use ctxflow_http::{REQUEST_ID, RequestId};
/// let id = RequestId::generate();
/// assert_eq!(REQUEST_ID.sync_scope(id.clone(), || REQUEST_ID.get()), Some(id));
/// ```
pub static REQUEST_ID: ContextVar<RequestId> = ContextVar::new("ctxflow_http::request_id");

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
