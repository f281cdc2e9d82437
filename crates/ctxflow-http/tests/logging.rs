//! Malformed headers are dropped with their typed error reported as a `tracing` debug event
//! (target `ctxflow_http`), and valid ones report nothing.

use std::sync::{Arc, Mutex};

use ctxflow_http::{ExtractOptions, IncomingContext};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// `(level, target, header, error)` of one event.
type Recorded = (Level, String, String, String);

/// Records every event.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Recorded>>>);

#[derive(Default)]
struct Fields {
    header: String,
    error: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "header" {
            self.header = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "error" => self.error = format!("{value:?}"),
            "header" => self.header = format!("{value:?}").trim_matches('"').to_owned(),
            _ => {}
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        self.0.lock().unwrap().push((*meta.level(), meta.target().to_owned(), fields.header, fields.error));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn events_for(headers: &[(&str, &str)]) -> Vec<Recorded> {
    let recorder = Recorder::default();
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    tracing::subscriber::with_default(recorder.clone(), || {
        IncomingContext::from_headers(&map, &ExtractOptions::default())
    });
    recorder.0.lock().unwrap().clone()
}

#[test]
fn each_malformed_header_is_one_debug_event_with_its_typed_error() {
    let events = events_for(&[
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"),
        ("baggage", "a=1,bad key=2,c=\"q\""),
        ("x-request-id", "two words"),
    ]);
    let headers: Vec<&str> = events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(headers, ["traceparent", "baggage", "x-request-id"], "{events:?}");
    for (level, target, _, error) in &events {
        assert_eq!((*level, target.as_str()), (Level::DEBUG, "ctxflow_http"));
        assert!(!error.is_empty());
    }
    assert!(events[0].3.contains("55 characters"), "{events:?}");
    assert!(events[1].3.contains("2 member(s) dropped"), "{events:?}");
}

#[test]
fn tracestate_error_is_reported_when_traceparent_is_valid() {
    let events = events_for(&[
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("tracestate", "UPPER=1"),
    ]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].2, "tracestate");
    assert!(events[0].3.contains("invalid key"), "{events:?}");
}

#[test]
fn valid_headers_report_nothing() {
    let events = events_for(&[
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("tracestate", "rojo=1"),
        ("baggage", "a=1"),
        ("x-request-id", "req-1"),
    ]);
    assert!(events.is_empty(), "{events:?}");
}

/// A declared variable whose value cannot be sent leaves no stale member behind (tests/export.rs)
/// and says why at debug level.
#[test]
fn a_declared_value_too_large_to_send_is_logged_at_debug() {
    use std::convert::Infallible;
    use tower::{Layer, ServiceExt, service_fn};

    static HUGE: ctxflow::ContextVar<String> = ctxflow::ContextVar::new("huge");
    ctxflow_http::Baggage::export(&HUGE, "huge1").unwrap();
    let recorder = Recorder::default();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let sent = tracing::subscriber::with_default(recorder.clone(), || {
        rt.block_on(HUGE.scope("x".repeat(9000), async {
            let client = ctxflow_http::ClientLayer::new().layer(service_fn(|req: http::Request<()>| async move {
                Ok::<_, Infallible>(req.headers().get("baggage").cloned())
            }));
            client.oneshot(http::Request::new(())).await.unwrap()
        }))
    });
    assert_eq!(sent, None, "nothing to send");
    let events = recorder.0.lock().unwrap();
    let why = events.iter().find(|(_, _, header, error)| header == "baggage" && error.contains("huge1"));
    let (level, target, _, error) = why.expect("a debug event for the dropped member");
    assert_eq!((*level, target.as_str()), (Level::DEBUG, "ctxflow_http"));
    assert!(error.contains("not sent"), "{error}");
}
