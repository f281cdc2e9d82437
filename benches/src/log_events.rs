//! One log event with a request's two fields (its request id and trace id), three ways, for the
//! `log_event` group: how a service gets those fields onto every line.
//!
//! - `fmt`: the event alone, no request fields (the baseline);
//! - `ctxflow_fields`: ctxflow-tracing's `ContextFields` read both from the current context
//!   (ctxflow-http's `REQUEST_ID` and `TRACE`, set by a request scope);
//! - `span_fields`: the same two values recorded once on a `tracing` span that is entered
//!   around the events, tracing's own way. The span's creation, once per request, is outside
//!   the counted loop, as is the ctxflow scope's set-up.
//!
//! All three format the same event with tracing-subscriber's default text format into
//! `io::sink()`, so each line's formatting is paid and nothing is written.

use std::hint::black_box;

use ctxflow_http::{REQUEST_ID, RequestId, TRACE, TraceContext};
use ctxflow_tracing::ContextFields;
use tracing::Dispatch;

use crate::sync_ops::Runner;

/// The `log_event` operations, in report order.
pub const OPERATIONS: &[&str] = &["fmt", "ctxflow_fields", "span_fields"];

/// Emits one event per operation of `runner` the way `case` says; false if there is no such
/// case.
pub fn run<R: Runner>(case: &str, runner: &mut R) -> bool {
    let text = || tracing_subscriber::fmt().with_ansi(false).with_writer(std::io::sink);
    let (request_id, trace) = (RequestId::generate(), TraceContext::new_root(true));
    let emit = || tracing::info!(status = black_box(200u16), "downstream answered");
    match case {
        "fmt" => tracing::dispatcher::with_default(&Dispatch::new(text().finish()), || runner.run(emit)),
        "ctxflow_fields" => {
            let fields =
                ContextFields::new()
                    .field("request_id", &REQUEST_ID)
                    .field_with("trace_id", &TRACE, |t, f| write!(f, "{}", t.trace_id));
            let dispatch = Dispatch::new(text().map_event_format(|format| fields.wrap(format)).finish());
            let context = (REQUEST_ID.value(request_id), TRACE.value(trace));
            tracing::dispatcher::with_default(&dispatch, || ctxflow::sync_scope(context, || runner.run(emit)));
        }
        "span_fields" => tracing::dispatcher::with_default(&Dispatch::new(text().finish()), || {
            let span = tracing::info_span!("request", request_id = %request_id, trace_id = %trace.trace_id);
            span.in_scope(|| runner.run(emit));
        }),
        _ => return false,
    }
    true
}
