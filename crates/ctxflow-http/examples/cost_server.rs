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
use axum::routing::get;
use ctxflow_http::ServerLayer;

/// User + system CPU seconds of this process, from /proc/self/stat (Linux).
async fn cpu_seconds() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
    format!("{:.3}\n", ticks as f64 / 100.0) // USER_HZ is 100 on Linux
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "layer".into());
    let addr: SocketAddr = std::env::args().nth(2).as_deref().unwrap_or("127.0.0.1:5002").parse().expect("address");
    assert!(addr.ip().is_loopback(), "binds loopback only");
    let app = Router::new().route("/", get(|| async { "ok" }));
    let app = match mode.as_str() {
        "plain" => app,
        "layer" => app.layer(ServerLayer::new()),
        other => panic!("mode is `plain` or `layer`, not {other:?}"),
    };
    let app = app.route("/cpu", get(cpu_seconds));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!("cost_server ({mode}) on http://{addr}/");
        axum::serve(listener, app).await.expect("serve");
    });
}
