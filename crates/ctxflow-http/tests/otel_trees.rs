//! With tracing-opentelemetry, ctxflow and OpenTelemetry tell one story: inside a span, `TRACE`
//! is that span (ids of an exported span), and a call through `ClientLayer` names that span as
//! the callee's parent, so the callee's trace links to a span that exists. Work the handler
//! spawns through ctxflow opens its spans under the request's span (`SpansFollowSpawns`), and
//! reads its own span there; every log line's `trace_id`/`span_id` (plain ctxflow-tracing fields
//! of `TRACE`) belongs to an exported span. 100 requests, half continuing a caller's trace,
//! half starting one.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};

use ctxflow_http::{ClientLayer, ServerLayer, TRACE, TraceContext, TraceId, current_trace};
use http::{Request, Response};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tower::{Layer, ServiceExt, service_fn};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// Log output, one JSON object per line.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one request through A saw: the incoming trace id (if any), `TRACE` inside A's server
/// span and inside the spawned work's span, and the trace context B was called with.
struct Seen {
    incoming: Option<TraceId>,
    in_a: TraceContext,
    in_work: TraceContext,
    at_b: TraceContext,
}

async fn request_through_a(i: u32) -> Seen {
    // B: another service behind ServerLayer; answers with the trace context it continued. It
    // stands for another process, but runs inside A's span here, which `TRACE` would read: B's
    // own is the context's.
    let b = ServerLayer::new().layer(service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(TRACE.with_unshadowed(|t| t.cloned()).unwrap()))
    }));
    // A: ServerLayer, a server span continuing the request's trace, a call to B inside it.
    let a = ServerLayer::new().layer(service_fn(move |_: Request<()>| {
        let b = b.clone();
        async move {
            let span = tracing::info_span!("server A");
            if let Some(parent) = TRACE.with(|t| t.and_then(TraceContext::remote_span_context)) {
                let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
            }
            async move {
                tracing::info!("handling");
                let work = ctxflow::spawn(async {
                    tracing::info_span!("work").in_scope(|| {
                        tracing::info!("in spawned work");
                        TRACE.get().unwrap()
                    })
                });
                let in_work = work.await.unwrap();
                let in_a = TRACE.get().unwrap();
                assert_eq!(current_trace(), Some(in_a.clone()));
                let at_b = ClientLayer::new().layer(b).oneshot(Request::new(())).await?.into_body().into_inner();
                Ok::<_, Infallible>(Response::new((in_a, in_work, at_b)))
            }
            .instrument(span)
            .await
        }
    }));
    let mut req = Request::new(());
    let incoming = i.is_multiple_of(2).then(TraceId::random);
    if let Some(trace_id) = incoming {
        let tp = format!("00-{trace_id}-{:016x}-01", 0x1000 + u64::from(i));
        req.headers_mut().insert("traceparent", tp.parse().unwrap());
    }
    let (in_a, in_work, at_b) = a.oneshot(req).await.unwrap().into_body().into_inner();
    Seen { incoming, in_a, in_work, at_b }
}

#[test]
fn calls_name_an_exported_span_as_parent_and_ctxflow_sees_the_spans_ids() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let lines = Lines::default();
    let fields = ctxflow_tracing::ContextFields::new()
        .field_with("trace_id", &TRACE, |t, f| write!(f, "{}", t.trace_id))
        .field_with("span_id", &TRACE, |t, f| write!(f, "{}", t.span_id));
    let writer = lines.clone();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test"))).with(
            tracing_subscriber::fmt::layer()
                .json()
                .map_event_format(|f| fields.wrap(f))
                .with_writer(move || writer.clone()),
        );
    let _default = tracing::subscriber::set_default(subscriber);
    let spans_follow = ctxflow::hooks::register(Arc::new(ctxflow_tracing::SpansFollowSpawns::default()));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let seen: Vec<Seen> = rt.block_on(async {
        let mut all = Vec::new();
        for i in 0..100 {
            all.push(request_through_a(i).await);
        }
        all
    });
    spans_follow.unregister();
    provider.force_flush().unwrap();
    let finished = exporter.get_finished_spans().unwrap();
    let exported: HashSet<(String, String)> = finished
        .iter()
        .map(|s| (s.span_context.trace_id().to_string(), s.span_context.span_id().to_string()))
        .collect();
    assert_eq!(exported.len(), 200, "a server span and a work span per request");
    // Spawned work: each `work` span is the child of a `server A` span.
    let servers: HashMap<String, String> = finished
        .iter()
        .filter(|s| s.name == "server A")
        .map(|s| (s.span_context.span_id().to_string(), s.span_context.trace_id().to_string()))
        .collect();
    for work in finished.iter().filter(|s| s.name == "work") {
        let parent = work.parent_span_id.to_string();
        assert_eq!(
            servers.get(&parent),
            Some(&work.span_context.trace_id().to_string()),
            "work's parent is its request's span"
        );
    }
    // Logs: 200 lines, each naming an exported span.
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let logged: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(logged.len(), 200);
    for line in &logged {
        let ids = (line["trace_id"].as_str().unwrap().to_owned(), line["span_id"].as_str().unwrap().to_owned());
        assert!(exported.contains(&ids), "a log line names a span that was not exported: {line}");
    }
    let works: HashMap<String, String> = finished
        .iter()
        .filter(|s| s.name == "work")
        .map(|s| (s.span_context.span_id().to_string(), s.parent_span_id.to_string()))
        .collect();
    for (i, s) in seen.iter().enumerate() {
        let in_a = (s.in_a.trace_id.to_string(), s.in_a.span_id.to_string());
        assert!(exported.contains(&in_a), "request {i}: ctxflow's trace in A is an exported span");
        assert!(servers.contains_key(&in_a.1), "request {i}: and it is A's server span");
        assert!(s.in_a.flags.is_sampled(), "request {i}: the span's flags");
        assert_eq!(s.in_work.trace_id, s.in_a.trace_id, "request {i}: spawned work is in the request's trace");
        assert_eq!(
            works.get(&s.in_work.span_id.to_string()),
            Some(&in_a.1),
            "request {i}: TRACE in spawned work is its own span, a child of A's"
        );
        if let Some(trace_id) = s.incoming {
            assert_eq!(s.in_a.trace_id, trace_id, "request {i}: the caller's trace continues");
        }
        assert_eq!(s.at_b.trace_id, s.in_a.trace_id, "request {i}: B is in A's trace");
        assert_eq!(s.at_b.parent_id, Some(s.in_a.span_id), "request {i}: B's parent is A's exported span");
    }
}

#[test]
fn baggage_set_through_opentelemetry_goes_out_and_declared_variables_win() {
    use opentelemetry::KeyValue;
    use opentelemetry::baggage::BaggageExt;

    static TENANT: ctxflow::ContextVar<String> = ctxflow::ContextVar::new("tenant");
    ctxflow_http::Baggage::export(&TENANT, "tenant").unwrap();
    let incoming: ctxflow_http::Baggage = "region=eu,shared=incoming,tenant=incoming".parse().unwrap();
    let otel = opentelemetry::Context::current_with_baggage([
        KeyValue::new("shared", "otel"),
        KeyValue::new("tenant", "otel"),
        KeyValue::new("only_otel", "1"),
    ]);
    let _attached = otel.attach();
    let request = (ctxflow_http::BAGGAGE.value(incoming), TENANT.value("acme".into()));
    let (sent, seen) = ctxflow::sync_scope(request, || {
        let mut headers = http::HeaderMap::new();
        ctxflow_http::inject(&mut headers);
        (headers["baggage"].to_str().unwrap().to_owned(), ctxflow_http::current_baggage())
    });
    let (sent, _) = ctxflow_http::Baggage::parse_lossy(&sent);
    for baggage in [&sent, &seen] {
        let get = |k: &str| baggage.get(k).map(|v| v.into_owned());
        assert_eq!(get("region").as_deref(), Some("eu"), "incoming members are kept");
        assert_eq!(get("shared").as_deref(), Some("otel"), "OpenTelemetry's entry replaces the incoming member");
        assert_eq!(get("only_otel").as_deref(), Some("1"), "OpenTelemetry's entries go out");
        assert_eq!(get("tenant").as_deref(), Some("acme"), "a declared variable wins over both");
        assert_eq!(baggage.len(), 4);
    }
}
