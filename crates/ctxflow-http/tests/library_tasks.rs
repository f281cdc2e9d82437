//! Tasks that libraries spawn lazily and keep (tower's `Buffer` worker, hyper-util's pooled
//! connections) never carry the context of the request that happened to create them, on a
//! runtime that propagates context into plain `tokio::spawn`.
//!
//! The client is created lazily inside the first request, as an app that builds it on first
//! use does: a hyper-util client (pooled connections) behind `tower::buffer::Buffer`, 200
//! concurrent requests on a 2-worker runtime, every downstream call checked. Then the live
//! resources are counted: no task left after the load may hold a request's context.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow::runtime::{BuilderExt, SpawnSites};
use ctxflow_http::{Baggage, ClientLayer, REQUEST_ID, ServerLayer};
use http::Request;
use http_body_util::Full;
use tokio::sync::OnceCell;
use tower::buffer::Buffer;
use tower::{Layer, ServiceExt};

static TENANT: ContextVar<String> = ContextVar::new("tenant");

type Client = common::HttpClient;
type Buffered = Buffer<Request<Full<Bytes>>, <Client as tower::Service<Request<Full<Bytes>>>>::Future>;

/// Where `ClientLayer` sits relative to the `Buffer`.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// `Buffer(ClientLayer(client))`: the layer runs in the buffer's worker task.
    LayerInsideBuffer,
    /// `ClientLayer(Buffer(client))`: the layer runs in each caller's task (the documented way).
    LayerOutsideBuffer,
}

/// What the downstream saw for each request: (sent id, received id, received tenant).
async fn load(addr: std::net::SocketAddr, order: Order) -> Vec<(String, String, String)> {
    let shared: Arc<OnceCell<Buffered>> = Arc::new(OnceCell::new());
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let shared = shared.clone();
        let request = (REQUEST_ID.value(format!("req-{i}").parse().unwrap()), TENANT.value(format!("tenant-{i}")));
        calls.spawn(ctxflow::scope(request, async move {
            // Built on first use, inside whichever request comes first.
            let buffer = shared
                .get_or_init(|| async {
                    match order {
                        Order::LayerInsideBuffer => Buffer::new(ClientLayer::new().layer(common::client()), 64),
                        Order::LayerOutsideBuffer => Buffer::new(common::client(), 64),
                    }
                })
                .await
                .clone();
            let req = Request::get(format!("http://{addr}/")).body(Full::new(Bytes::new())).unwrap();
            let res = match order {
                Order::LayerInsideBuffer => buffer.oneshot(req).await.unwrap(),
                Order::LayerOutsideBuffer => ClientLayer::new().layer(buffer).oneshot(req).await.unwrap(),
            };
            let body = common::text(res).await;
            let (id, tenant) = body.split_once('|').unwrap();
            (format!("req-{i}"), id.to_owned(), tenant.to_owned())
        }));
    }
    let mut seen = Vec::new();
    while let Some(call) = calls.join_next().await {
        seen.push(call.unwrap());
    }
    seen
}

/// Calls that reached the downstream with another request's id or tenant.
fn foreign(seen: &[(String, String, String)]) -> usize {
    let sent: HashSet<&str> = seen.iter().map(|(id, ..)| id.as_str()).collect();
    seen.iter()
        .filter(|(own, id, tenant)| {
            let other_id = id != own && sent.contains(id.as_str());
            let other_tenant =
                !tenant.is_empty() && tenant.trim_start_matches("tenant-") != own.trim_start_matches("req-");
            other_id || other_tenant
        })
        .count()
}

/// Live tracked tasks created with a request id in their context.
fn tasks_holding_a_request() -> Vec<String> {
    ctxflow_diagnostics::registry::live()
        .into_iter()
        .filter(|r| r.variables.iter().any(|v| v == "ctxflow_http::request_id"))
        .map(|r| format!("{} at {}", r.kind, r.location))
        .collect()
}

fn run(empty_at: SpawnSites, order: Order) -> (Vec<(String, String, String)>, Vec<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .propagate_context_except(empty_at)
        .build()
        .unwrap();
    rt.block_on(async {
        let app = Router::new()
            .route("/", get(|| async { format!("{}|{}", REQUEST_ID.get().unwrap(), TENANT.get().unwrap_or_default()) }))
            .layer(ServerLayer::new());
        let addr = common::serve(app).await;
        let seen = load(addr, order).await;
        (seen, tasks_holding_a_request())
    })
}

#[test]
fn library_owned_tasks_never_carry_a_requests_context() {
    Baggage::export(&TENANT, "tenant").unwrap();
    ctxflow_diagnostics::registry::enable();

    // Control: with no spawn site starting empty, the lazily built buffer's worker keeps the
    // first request's context and lends it to every later call, and pooled connections keep
    // theirs after the load.
    let (seen, holding) = run(SpawnSites::none(), Order::LayerInsideBuffer);
    assert!(foreign(&seen) > 0, "the control must show the bleed it guards against");
    assert!(!holding.is_empty());

    // The defaults: the worker and the connections start empty. Calls through a layer inside
    // the buffer carry no request's context (the layer runs in the worker), never another's.
    let (seen, holding) = run(SpawnSites::library_defaults(), Order::LayerInsideBuffer);
    assert_eq!(seen.len(), 200);
    assert_eq!(foreign(&seen), 0, "calls carried another request's context");
    assert_eq!(holding, Vec::<String>::new(), "tasks left holding a request's context");

    // The documented order: the layer outside the buffer, in each caller's task.
    let (seen, holding) = run(SpawnSites::library_defaults(), Order::LayerOutsideBuffer);
    let own = seen
        .iter()
        .filter(|(own, id, tenant)| id == own && tenant.trim_start_matches("tenant-") == own.trim_start_matches("req-"))
        .count();
    assert_eq!(own, 200, "every call carries its own request id and tenant");
    assert_eq!(holding, Vec::<String>::new(), "tasks left holding a request's context");
}
