//! A minimal axum service, with or without [`ServerLayer`], for measuring what the layer costs
//! per request under load (docs/http.md, "Cost"). One tokio worker, so the process CPU time
//! divided by the number of requests is the CPU cost of one request.
//!
//! ```text
//! cargo run --release -p ctxflow-http --example cost_server -- layer 127.0.0.1:5002
//! curl http://127.0.0.1:5002/cpu      # process CPU seconds so far (user + system)
//! wrk -t1 -c32 -d10s http://127.0.0.1:5002/
//! curl http://127.0.0.1:5002/cpu
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use ctxflow_http::{ScopedBody, ServerLayer};
use tower::util::MapResponseLayer;
use tower::{Layer, Service};

/// CPU seconds this process has run so far: the sum over its threads of the scheduler's
/// nanosecond count (`/proc/self/task/*/schedstat`, Linux), precise enough for short runs.
async fn cpu_seconds() -> String {
    let threads = std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten();
    let nanos: u64 = threads
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    format!("{:.6}\n", nanos as f64 / 1e9)
}

/// What a layer costs by itself: the response body wrapped, as ServerLayer does, with no
/// context work.
fn wrap_body(res: axum::response::Response) -> http::Response<ScopedBody<axum::body::Body>> {
    res.map(|body| ScopedBody::new(body, ctxflow::Snapshot::empty()))
}

/// Serves `svc`, the whole router wrapped once (docs/http.md, "axum"), instead of a router
/// whose routes axum wraps one by one.
async fn serve_wrapped<S, B: 'static>(listener: tokio::net::TcpListener, svc: S)
where
    S: Service<axum::extract::Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    http::Response<B>: IntoResponse,
{
    let app = tower::ServiceExt::<axum::extract::Request>::map_response(svc, IntoResponse::into_response);
    axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(app)).await.expect("serve");
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "layer".into());
    let addr: SocketAddr = std::env::args().nth(2).as_deref().unwrap_or("127.0.0.1:5002").parse().expect("address");
    assert!(addr.ip().is_loopback(), "binds loopback only");
    let app = Router::new().route("/", get(|| async { "ok" }));
    let app = match mode.as_str() {
        "plain" | "outer" | "outer-noop" => app,
        // `Router::layer`: axum wraps every route (its own boxing, per request).
        "layer" => app.layer(ServerLayer::new()),
        // What axum's layering costs by itself.
        "noop" => app.layer(MapResponseLayer::new(wrap_body)),
        other => panic!("mode is `plain`, `layer`, `noop`, `outer` or `outer-noop`, not {other:?}"),
    };
    let app = app.route("/cpu", get(cpu_seconds));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!("cost_server ({mode}) on http://{addr}/");
        match mode.as_str() {
            "outer" => serve_wrapped(listener, ServerLayer::new().layer(app)).await,
            "outer-noop" => serve_wrapped(listener, MapResponseLayer::new(wrap_body).layer(app)).await,
            _ => axum::serve(listener, app).await.expect("serve"),
        }
    });
}
