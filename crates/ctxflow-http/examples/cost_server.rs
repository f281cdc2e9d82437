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

use std::net::SocketAddr;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use ctxflow_http::ServerLayer;
use tower::Layer;

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

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "layer".into());
    let addr: SocketAddr = std::env::args().nth(2).as_deref().unwrap_or("127.0.0.1:5002").parse().expect("address");
    assert!(addr.ip().is_loopback(), "binds loopback only");
    let app = Router::new().route("/", get(|| async { "ok" }));
    let app = match mode.as_str() {
        "plain" | "outer" => app,
        // `Router::layer`: axum wraps every route (its own boxing, per request).
        "layer" => app.layer(ServerLayer::new()),
        // What axum's layering and a wrapped response body cost by themselves: a layer that
        // only wraps the body, as ServerLayer does, with no context work.
        "noop" => app.layer(tower::util::MapResponseLayer::new(|res: axum::response::Response| {
            res.map(|body| ctxflow_http::ScopedBody::new(body, ctxflow::Snapshot::empty()))
        })),
        other => panic!("mode is `plain`, `layer`, `outer` or `noop`, not {other:?}"),
    };
    let app = app.route("/cpu", get(cpu_seconds));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!("cost_server ({mode}) on http://{addr}/");
        if mode == "outer" {
            // The layer around the whole router, once (docs/http.md, "axum").
            let app = ServerLayer::new().layer(app);
            let app = tower::ServiceExt::<axum::extract::Request>::map_response(app, IntoResponse::into_response);
            let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
            axum::serve(listener, app).await.expect("serve");
        } else {
            axum::serve(listener, app).await.expect("serve");
        }
    });
}
