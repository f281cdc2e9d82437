//! The context variables this crate fills for every request, and what else of a request's
//! context it reads and writes: the headers bound to the application's variables
//! (`bound_headers`), the variables declared to cross the wire as baggage (`export`), what an
//! outgoing call made now would send (`current`), and OpenTelemetry's ids for traces that start
//! here (`otel_ids`).
//!
//! Three variables rather than one struct so that code which only needs the request id never
//! clones a baggage list, and so that each can be read, scoped or replaced on its own with the
//! ordinary `ContextVar` API. They are bound together, in one frame, by the server layer.

pub(crate) mod bound_headers;
pub(crate) mod current;
pub(crate) mod export;
#[cfg(feature = "opentelemetry-sdk")]
pub(crate) mod otel_ids;

use ctxflow::ContextVar;

use crate::wire::baggage::Baggage;
use crate::wire::request_id::RequestId;
use crate::wire::trace_context::TraceContext;

/// The trace context of the current request (set by [`ServerLayer`](crate::ServerLayer)).
///
/// With the `opentelemetry` feature, while an OpenTelemetry span is current (tracing-opentelemetry
/// makes a tracing span's so while it is entered), reads see that span's context instead: its
/// trace id, span id, flags and tracestate, with no `parent_id` (OpenTelemetry's span context
/// does not carry it). So `TRACE` names the spans that are exported, in logs and in outgoing
/// calls alike; a value set or scoped meanwhile shows again once no span is current
/// ([`ContextVar::shadowed_by`]).
///
/// ```
/// use ctxflow_http::{TRACE, TraceContext};
/// let ctx = TraceContext::new_root(true);
/// let id = ctx.trace_id;
/// assert_eq!(TRACE.sync_scope(ctx, || TRACE.with(|t| t.map(|t| t.trace_id))), Some(id));
/// ```
pub static TRACE: ContextVar<TraceContext> = trace_variable();

const fn trace_variable() -> ContextVar<TraceContext> {
    let trace = ContextVar::new("ctxflow_http::trace");
    #[cfg(feature = "opentelemetry")]
    let trace = trace.shadowed_by(crate::otel::current_span);
    trace
}

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
