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
//! All three format the same event into `io::sink()`, so each line's formatting is paid and
//! nothing is written: in tracing-subscriber's default text format for the `log_event` group,
//! in its JSON format for `log_event_json` (the [`Output`]).

use std::hint::black_box;

use ctxflow_http::{REQUEST_ID, RequestId, TRACE, TraceContext};
use ctxflow_tracing::ContextFields;
use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;

use crate::sync_ops::Runner;

/// The request's two fields as the benchmarks log them: its request id and its trace id, read
/// from ctxflow-http's variables.
pub fn request_fields() -> ContextFields {
    ContextFields::new()
        .field("request_id", &REQUEST_ID)
        .field_with("trace_id", &TRACE, |t, f| write!(f, "{}", t.trace_id))
}

/// The `log_event` operations, in report order.
pub const OPERATIONS: &[&str] = &["fmt", "ctxflow_fields", "span_fields"];

/// The format a `log_event` group writes its events in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Output {
    /// tracing-subscriber's default text format (`Full`): the `log_event` group.
    Text,
    /// tracing-subscriber's JSON format: the `log_event_json` group.
    Json,
}

impl Output {
    /// A fmt subscriber writing this format to `out`, with `fields` added to every event if
    /// given.
    fn subscriber<W>(self, fields: Option<&ContextFields>, out: W) -> Dispatch
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let builder = tracing_subscriber::fmt().with_ansi(false).with_writer(out);
        match (self, fields) {
            (Output::Text, None) => Dispatch::new(builder.finish()),
            (Output::Text, Some(fields)) => Dispatch::new(builder.map_event_format(|f| fields.wrap(f)).finish()),
            (Output::Json, None) => Dispatch::new(builder.json().finish()),
            (Output::Json, Some(fields)) => Dispatch::new(builder.json().map_event_format(|f| fields.wrap(f)).finish()),
        }
    }
}

/// Emits one event per operation of `runner` in `output` the way `case` says; false if there
/// is no such case.
pub fn run<R: Runner>(output: Output, case: &str, runner: &mut R) -> bool {
    run_into(output, case, runner, std::io::sink)
}

/// [`run`], the lines written to `out`.
fn run_into<R, W>(output: Output, case: &str, runner: &mut R, out: W) -> bool
where
    R: Runner,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (request_id, trace) = (RequestId::generate(), TraceContext::new_root(true));
    let emit = || tracing::info!(status = black_box(200u16), "downstream answered");
    match case {
        "fmt" => tracing::dispatcher::with_default(&output.subscriber(None, out), || runner.run(emit)),
        "ctxflow_fields" => {
            let dispatch = output.subscriber(Some(&request_fields()), out);
            let context = (REQUEST_ID.value(request_id), TRACE.value(trace));
            tracing::dispatcher::with_default(&dispatch, || ctxflow::sync_scope(context, || runner.run(emit)));
        }
        "span_fields" => tracing::dispatcher::with_default(&output.subscriber(None, out), || {
            let span = tracing::info_span!("request", request_id = %request_id, trace_id = %trace.trace_id);
            span.in_scope(|| runner.run(emit));
        }),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::sync_ops::Times;

    /// The lines each case writes, so the cases measure what they say.
    fn lines(output: Output, case: &str) -> Vec<String> {
        let out: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = out.clone();
        assert!(run_into(output, case, &mut Times(2), move || Buffer(sink.clone())));
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The 32 lowercase hex digits that follow `name=` in `line`, if any.
    fn hex_after<'a>(line: &'a str, name: &str) -> Option<&'a str> {
        let value = line.split(&format!("{name}=")).nth(1)?.get(..32)?;
        value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)).then_some(value)
    }

    #[test]
    fn both_ways_put_the_two_ids_on_every_line_and_the_baseline_none() {
        for case in ["ctxflow_fields", "span_fields"] {
            let lines = lines(Output::Text, case);
            assert_eq!(lines.len(), 2, "{case}: {lines:?}");
            for line in &lines {
                assert!(line.contains("downstream answered"), "{case}: {line}");
                assert!(hex_after(line, "request_id").is_some(), "{case}: {line}");
                assert!(hex_after(line, "trace_id").is_some(), "{case}: {line}");
            }
        }
        let lines = lines(Output::Text, "fmt");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines.iter().all(|l| l.contains("downstream answered") && !l.contains("_id=")), "{lines:?}");
    }

    /// Whether `value` is a JSON string of 32 lowercase hex digits.
    fn is_hex_id(value: Option<&serde_json::Value>) -> bool {
        value
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    }

    #[test]
    fn in_json_the_ids_are_keys_of_the_event_or_of_its_span_and_the_baseline_has_none() {
        let objects = |case| -> Vec<serde_json::Value> {
            let lines = lines(Output::Json, case);
            assert_eq!(lines.len(), 2, "{case}: {lines:?}");
            lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{case}: {e}: {l}"))).collect()
        };
        for event in objects("ctxflow_fields") {
            assert_eq!(event["fields"]["message"], "downstream answered", "{event}");
            assert!(is_hex_id(event.get("request_id")) && is_hex_id(event.get("trace_id")), "{event}");
        }
        for event in objects("span_fields") {
            assert!(is_hex_id(event["span"].get("request_id")) && is_hex_id(event["span"].get("trace_id")), "{event}");
            assert!(event.get("request_id").is_none(), "{event}");
        }
        for event in objects("fmt") {
            assert_eq!(event["fields"]["message"], "downstream answered", "{event}");
            assert!(!event.to_string().contains("_id"), "{event}");
        }
    }
}
