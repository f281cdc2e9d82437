//! A tracing span carries the context it was created in (`ctxflow_tracing::SpanContexts`), so
//! libraries that move spans between tasks move the context too. tower's `Buffer` captures the
//! caller's span with each request and enters it in its worker: with `ClientLayer` inside the
//! buffer, every call then sends its own caller's trace, request id and baggage. 200 concurrent
//! requests on a runtime that propagates context, the buffer built lazily in the first one.

mod common;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow::runtime::BuilderExt;
use ctxflow_http::{Baggage, ClientLayer, REQUEST_ID, ServerLayer, TRACE, TraceContext};
use http::Request;
use http_body_util::Full;
use tokio::sync::OnceCell;
use tower::buffer::Buffer;
use tower::{Layer, ServiceExt};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

static TENANT: ContextVar<String> = ContextVar::new("tenant");

type Client = ctxflow_http::ClientService<common::HttpClient>;
type Buffered = Buffer<Request<Full<Bytes>>, <Client as tower::Service<Request<Full<Bytes>>>>::Future>;

/// Whether the process's subscriber has `SpanContexts` (set once: worker threads use the global one).
static WITH_LAYER: OnceLock<bool> = OnceLock::new();

/// For each of 200 concurrent requests: what it sent (trace id, request id, tenant) and what
/// the downstream received.
fn run() -> Vec<(String, String)> {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().propagate_context().build().unwrap();
    rt.block_on(async {
        let app = Router::new().route("/", get(|| async { own() })).layer(ServerLayer::new());
        let addr = common::serve(app).await;
        let shared: Arc<OnceCell<Buffered>> = Arc::new(OnceCell::new());
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..200 {
            let shared = shared.clone();
            let request = (
                TRACE.value(TraceContext::new_root(true)),
                REQUEST_ID.value(format!("req-{i}").parse().unwrap()),
                TENANT.value(format!("tenant-{i}")),
            );
            calls.spawn(ctxflow::scope(request, async move {
                // The request's span, created in its context; the buffer is built on first use.
                let span = tracing::info_span!("request");
                async move {
                    let buffer = shared
                        .get_or_init(|| async { Buffer::new(ClientLayer::new().layer(common::client()), 64) })
                        .await
                        .clone();
                    let req = Request::get(format!("http://{addr}/")).body(Full::new(Bytes::new())).unwrap();
                    let received = common::text(buffer.oneshot(req).await.unwrap()).await;
                    (own(), received)
                }
                .instrument(span)
                .await
            }));
        }
        let mut seen = Vec::new();
        while let Some(call) = calls.join_next().await {
            seen.push(call.unwrap());
        }
        seen
    })
}

/// `trace id|request id|tenant` of the current context.
fn own() -> String {
    let trace = TRACE.with(|t| t.map(|t| t.trace_id.to_string())).unwrap_or_default();
    format!(
        "{trace}|{}|{}",
        REQUEST_ID.get().map(|id| id.to_string()).unwrap_or_default(),
        TENANT.get().unwrap_or_default()
    )
}

#[test]
fn a_buffered_client_sends_each_callers_own_context() {
    Baggage::export(&TENANT, "tenant").unwrap();
    WITH_LAYER.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(ctxflow_tracing::SpanContexts::default());
        tracing::subscriber::set_global_default(subscriber).unwrap();
        true
    });
    let seen = run();
    assert_eq!(seen.len(), 200);
    for (sent, received) in &seen {
        assert_eq!(received, sent, "a call carried another context, or none");
    }
}
