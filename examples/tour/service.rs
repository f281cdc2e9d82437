//! The service under load: an axum app behind ctxflow's server layer, on a runtime with
//! automatic propagation. Its handler checks, everywhere the request's code runs (the handler,
//! a plain `tokio::spawn` child, a blocking job, a rayon job), that it sees its own request's
//! values and nobody else's, against what the client sent in a separate header.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow::rayon::ParallelIteratorExt;
use ctxflow_http::{REQUEST_ID, ServerLayer};
use http::HeaderMap;
use rayon::prelude::*;
use tokio::sync::watch;

/// The tenant of a request: set by the client, carried in W3C baggage as `tenant`.
pub static TENANT: ContextVar<String> = ContextVar::new("tenant");

/// What the client says the request carries, sent in `x-expect: <request id> <tenant>`.
#[derive(Clone, PartialEq, Debug)]
pub struct Expected {
    pub request_id: String,
    pub tenant: String,
}

impl Expected {
    fn from_headers(headers: &HeaderMap) -> Option<Expected> {
        let (id, tenant) = headers.get("x-expect")?.to_str().ok()?.split_once(' ')?;
        Some(Expected { request_id: id.to_owned(), tenant: tenant.to_owned() })
    }

    /// What the context holds here and now.
    fn current() -> Expected {
        Expected {
            request_id: REQUEST_ID.with(|r| r.map(|r| r.to_string())).unwrap_or_default(),
            tenant: TENANT.get().unwrap_or_default(),
        }
    }
}

/// Reads checked, and how many saw another request's (or no) values.
pub struct Checks {
    pub reads: AtomicU64,
    pub mismatches: AtomicU64,
}

pub static CHECKS: Checks = Checks { reads: AtomicU64::new(0), mismatches: AtomicU64::new(0) };

fn check(expected: &Expected) {
    CHECKS.reads.fetch_add(1, Ordering::Relaxed);
    if Expected::current() != *expected {
        CHECKS.mismatches.fetch_add(1, Ordering::Relaxed);
    }
}

/// Holds the children of requests that ask for it (`x-tour-hold`), so the tour can show a
/// live resource tree; released by sending `true`.
pub fn hold_gate() -> &'static (watch::Sender<bool>, watch::Receiver<bool>) {
    static GATE: std::sync::OnceLock<(watch::Sender<bool>, watch::Receiver<bool>)> = std::sync::OnceLock::new();
    GATE.get_or_init(|| watch::channel(false))
}

async fn wait_if_held(held: bool) {
    if held {
        let mut rx = hold_gate().1.clone();
        let _ = rx.wait_for(|released| *released).await;
    }
}

async fn handle(headers: HeaderMap) -> &'static str {
    let Some(expected) = Expected::from_headers(&headers) else { return "missing x-expect" };
    let held = headers.contains_key("x-tour-hold");
    check(&expected);
    tracing::info!(expect = %expected.request_id, "request received");

    // Third-party style: a plain `tokio::spawn`, inheriting through the runtime's hooks.
    let e = expected.clone();
    let child = tokio::spawn(async move {
        tokio::task::yield_now().await;
        check(&e);
        tracing::info!(expect = %e.request_id, "child task (plain tokio::spawn)");
        wait_if_held(held).await;
    });

    // A blocking call that fans out to rayon.
    let e = expected.clone();
    let blocking = ctxflow::spawn_blocking(move || {
        check(&e);
        tracing::info!(expect = %e.request_id, "blocking call");
        (0..8).into_par_iter().in_current_context().for_each(|_| check(&e));
        tracing::info!(expect = %e.request_id, "rayon job: 8 items");
        if held {
            tokio::runtime::Handle::current().block_on(wait_if_held(true));
        }
    });

    let _ = tokio::join!(child, blocking);
    check(&expected);
    "ok"
}

/// The app, with or without ctxflow's layer.
pub fn app(with_layer: bool) -> Router {
    let router = Router::new().route("/", get(handle));
    if with_layer { router.layer(ServerLayer::new()) } else { router }
}

/// A minimal handler, for measuring what the layer itself costs.
pub fn minimal_app(with_layer: bool) -> Router {
    let router = Router::new().route("/", get(|| async { "ok" }));
    if with_layer { router.layer(ServerLayer::new()) } else { router }
}

/// Serves `app` on a loopback port, on the current runtime.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}
