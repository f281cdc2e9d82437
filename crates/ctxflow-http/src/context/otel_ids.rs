//! `ContextIds`: OpenTelemetry's ids for a trace that starts here come from ctxflow.
//!
//! `ServerLayer` starts a trace for a request that brings none, and `TRACE` holds its id. The
//! server span OpenTelemetry then opens has no parent, so its tracer draws a trace id of its
//! own, and the service ends up with two trace ids for one request. An id generator is the one
//! place that decides a new span's trace id: this one takes `TRACE`'s when the code starting
//! the span runs in a request's context, and draws a random one otherwise. Span ids stay
//! random.

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

use crate::context::TRACE;

/// An [`IdGenerator`] for `opentelemetry_sdk`'s tracer provider: a span started without a
/// parent inside a request's context gets the request's trace id ([`TRACE`]), so
/// ctxflow and the exported spans agree on it for traces that start at this service too.
///
/// ```
/// use opentelemetry::trace::{Span, Tracer, TracerProvider};
/// use ctxflow_http::{ContextIds, TRACE, TraceContext};
///
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().with_id_generator(ContextIds::default()).build();
/// let request = TraceContext::new_root(true);
/// let span = TRACE.sync_scope(request.clone(), || provider.tracer("doc").start("request"));
/// assert_eq!(span.span_context().trace_id().to_string(), request.trace_id.to_string());
/// ```
#[derive(Debug, Default)]
pub struct ContextIds {
    random: RandomIdGenerator,
}

impl IdGenerator for ContextIds {
    fn new_trace_id(&self) -> TraceId {
        // A root span started while another span is current (an explicit new root) is a new
        // trace; `TRACE` would read that other span's.
        if crate::otel::current_span().is_some() {
            return self.random.new_trace_id();
        }
        TRACE.with_unshadowed(|t| t.map(|t| t.trace_id.into())).unwrap_or_else(|| self.random.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        self.random.new_span_id()
    }
}
