//! What an outgoing call made now would send: the trace it names as parent and its baggage.
//!
//! Both come from the request's context, and with the `opentelemetry` feature also from what
//! OpenTelemetry holds current (a span, baggage entries), which is newer than what the request
//! brought. `inject` writes exactly these, and code can read them to log or compare ids.

use std::borrow::Cow;

use crate::context::export::outgoing;
use crate::context::{BAGGAGE, TRACE};
use crate::wire::baggage::Baggage;
use crate::wire::trace_context::TraceContext;

/// The trace the code running now belongs to, as other services will see it: [`TRACE`]'s
/// value, which with the `opentelemetry` feature is the span OpenTelemetry holds current
/// (tracing-opentelemetry makes an entered tracing span current) while there is one, so that
/// its ids are those of an exported span.
///
/// ```
/// use ctxflow_http::{TRACE, TraceContext, current_trace};
/// let t = TraceContext::new_root(true);
/// assert_eq!(TRACE.sync_scope(t.clone(), current_trace), Some(t));
/// assert_eq!(current_trace(), None);
/// ```
pub fn current_trace() -> Option<TraceContext> {
    TRACE.get()
}

/// The baggage an outgoing call would send now: the request's [`BAGGAGE`], with the `opentelemetry`
/// feature the entries set through OpenTelemetry's Baggage API laid over it, and the declared
/// variables ([`Baggage::export`](crate::Baggage::export)) over both.
///
/// ```
/// use ctxflow::ContextVar;
/// use ctxflow_http::{BAGGAGE, Baggage, current_baggage};
/// static TENANT: ContextVar<String> = ContextVar::new("tenant");
/// Baggage::export(&TENANT, "tenant").unwrap();
/// let incoming: Baggage = "tenant=old,other=1".parse().unwrap();
/// let sent = ctxflow::sync_scope((BAGGAGE.value(incoming), TENANT.value("acme".into())), current_baggage);
/// assert_eq!((sent.get("tenant").as_deref(), sent.get("other").as_deref()), (Some("acme"), Some("1")));
/// ```
pub fn current_baggage() -> Baggage {
    with_sent_baggage(|sent| sent.map(Cow::into_owned).unwrap_or_default())
}

/// Runs `f` with the baggage an outgoing call would send now (see [`current_baggage`]),
/// borrowed from the request's when nothing was laid over it.
pub(crate) fn with_sent_baggage<R>(f: impl FnOnce(Option<Cow<'_, Baggage>>) -> R) -> R {
    BAGGAGE.with(|incoming| {
        #[cfg(feature = "opentelemetry")]
        if let Some(with_otel) = crate::otel::with_otel_baggage(incoming) {
            return f(outgoing(Some(&with_otel)));
        }
        f(outgoing(incoming))
    })
}
