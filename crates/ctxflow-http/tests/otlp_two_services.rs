//! Two services, A calling B through `ClientLayer`, with tracing-opentelemetry exporting through
//! the real OTLP exporter (HTTP/protobuf) to a receiver this test runs on loopback, which decodes
//! what arrives with `opentelemetry-proto`. 100 requests to A, half arriving with a
//! `traceparent`; A logs, spawns a child through ctxflow that opens a span and logs, then calls
//! B, which logs. For every request:
//! 1. ctxflow's trace id (`TRACE`, the current span's while one is) is the exported trace id,
//!    at A and at B;
//! 2. B's server span's parent is a span A exported;
//! 3. every log line's `trace_id` and `span_id` belong to an exported span;
//! 4. the span opened in spawned work is a child of A's server span.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use ctxflow_http::{ClientLayer, ServerLayer, TRACE, TraceContext};
use http::Request;
use http_body_util::Full;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tower::{Layer, ServiceExt};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// A span as the receiver decoded it.
#[derive(Clone, Debug)]
struct Exported {
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The OTLP receiver: POST /v1/traces, protobuf.
async fn receiver(store: Arc<Mutex<Vec<Exported>>>) -> SocketAddr {
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("a valid OTLP request");
                let mut store = store.lock().unwrap();
                for scope in request.resource_spans.iter().flat_map(|r| &r.scope_spans) {
                    for span in &scope.spans {
                        store.push(Exported {
                            name: span.name.clone(),
                            trace_id: hex(&span.trace_id),
                            span_id: hex(&span.span_id),
                            parent: hex(&span.parent_span_id),
                        });
                    }
                }
                ""
            }
        }),
    );
    common::serve(app).await
}

/// Runs `handling` in a server span named `name` that continues the request's trace.
async fn in_server_span<F: std::future::Future>(name: &'static str, handling: F) -> F::Output {
    let span = tracing::info_span!("server", otel.name = name);
    if let Some(parent) = TRACE.with(|t| t.and_then(TraceContext::remote_span_context)) {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
    }
    handling.instrument(span).await
}

/// `trace_id span_id` of the current trace.
fn ids() -> String {
    TRACE.get().map(|t| format!("{} {}", t.trace_id, t.span_id)).unwrap_or_default()
}

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

#[test]
fn a_trace_seen_whole_across_two_services_through_otlp() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let store = Arc::new(Mutex::new(Vec::new()));
    let otlp = rt.block_on(receiver(store.clone()));

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("http://{otlp}/v1/traces"))
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_id_generator(ctxflow_http::ContextIds::default())
        .build();
    let lines = Lines::default();
    let writer = lines.clone();
    let fields = ctxflow_tracing::ContextFields::new()
        .field_with("trace_id", &TRACE, |t, f| write!(f, "{}", t.trace_id))
        .field_with("span_id", &TRACE, |t, f| write!(f, "{}", t.span_id));
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("services")))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .map_event_format(|f| fields.wrap(f))
                .with_writer(move || writer.clone()),
        );
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let hook = ctxflow::hooks::register(Arc::new(ctxflow_tracing::SpansFollowSpawns::default()));

    let seen: Vec<(Option<String>, String, String, String)> = rt.block_on(async {
        let b = Router::new()
            .route(
                "/",
                get(|| {
                    in_server_span("B", async {
                        tracing::info!("in B");
                        ids()
                    })
                }),
            )
            .layer(ServerLayer::new());
        let b_addr = common::serve(b).await;
        let client = ClientLayer::new().layer(common::client());
        let a = Router::new()
            .route(
                "/",
                get(move || {
                    let client = client.clone();
                    in_server_span("A", async move {
                        tracing::info!("in A");
                        ctxflow::spawn(async {
                            tracing::info_span!("work").in_scope(|| tracing::info!("in spawned work"));
                        })
                        .await
                        .unwrap();
                        let req = Request::get(format!("http://{b_addr}/")).body(Full::new(Bytes::new())).unwrap();
                        let at_b = common::text(client.oneshot(req).await.unwrap()).await;
                        let trace_var = TRACE.with(|t| t.unwrap().trace_id.to_string());
                        format!("{}|{trace_var}|{at_b}", ids())
                    })
                }),
            )
            .layer(ServerLayer::new());
        let a_addr = common::serve(a).await;
        let driver = common::client();
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..100u32 {
            let driver = driver.clone();
            calls.spawn(async move {
                let mut req = Request::get(format!("http://{a_addr}/")).body(Full::new(Bytes::new())).unwrap();
                let incoming = i.is_multiple_of(2).then(|| format!("{:032x}", 0xabc0_0000 + u128::from(i)));
                if let Some(trace_id) = &incoming {
                    let tp = format!("00-{trace_id}-{:016x}-01", 0x1000 + u64::from(i));
                    req.headers_mut().insert("traceparent", tp.parse().unwrap());
                }
                let body = common::text(driver.request(req).await.unwrap()).await;
                let mut parts = body.splitn(3, '|').map(str::to_owned);
                let (at_a, trace_var, at_b) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
                (incoming, at_a, trace_var, at_b)
            });
        }
        let mut all = Vec::new();
        while let Some(call) = calls.join_next().await {
            all.push(call.unwrap());
        }
        all
    });
    hook.unregister();
    provider.force_flush().unwrap();

    let exported = store.lock().unwrap().clone();
    let by_id: HashMap<String, Exported> = exported.iter().map(|s| (s.span_id.clone(), s.clone())).collect();
    let ids_exported: HashSet<(String, String)> =
        exported.iter().map(|s| (s.trace_id.clone(), s.span_id.clone())).collect();
    assert_eq!(exported.len(), 300, "A, B and a work span per request");
    assert_eq!(seen.len(), 100);
    for (incoming, at_a, trace_var, at_b) in &seen {
        let (a_trace, a_span) = at_a.split_once(' ').unwrap();
        let (b_trace, b_span) = at_b.split_once(' ').unwrap();
        let a = by_id.get(a_span).expect("1. A's ids are those of an exported span");
        assert_eq!((a.name.as_str(), a.trace_id.as_str()), ("A", a_trace));
        if let Some(incoming) = incoming {
            assert_eq!(a_trace, incoming, "a continued trace keeps the caller's id");
        }
        assert_eq!(trace_var, a_trace, "1. TRACE holds the exported trace id, for a trace started at A too");
        let b = by_id.get(b_span).expect("1. B's ids are those of an exported span");
        assert_eq!((b.name.as_str(), b.trace_id.as_str()), ("B", a_trace), "B is in A's trace");
        assert_eq!(b_trace, a_trace, "1. ctxflow's trace id at B is the exported one");
        assert_eq!(b.parent, a_span, "2. B's server span's parent is A's exported span");
    }
    for work in exported.iter().filter(|s| s.name == "work") {
        assert_eq!(
            by_id.get(&work.parent).map(|p| p.name.as_str()),
            Some("A"),
            "4. spawned work is a child of A's span"
        );
    }
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    // This test's own lines (the libraries around it log too).
    let logged: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["target"] == "otlp_two_services")
        .collect();
    assert_eq!(logged.len(), 300, "three log lines per request");
    for line in &logged {
        let ids = (line["trace_id"].as_str().unwrap().to_owned(), line["span_id"].as_str().unwrap().to_owned());
        assert!(ids_exported.contains(&ids), "3. a log line names a span that was not exported: {line}");
    }
}
