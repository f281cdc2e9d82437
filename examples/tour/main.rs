//! The ctxflow tour: the whole library at work in one run, from its public API only.
//!
//! ```text
//! cargo run --release --example tour
//! ```
//!
//! 1. An axum service with ctxflow's server layer, on a runtime with automatic propagation,
//!    hit by concurrent requests from a client that propagates context (W3C traceparent and
//!    baggage). Each request spawns a plain `tokio::spawn` child, a blocking call and a rayon
//!    job; every log line carries its request's id and tenant.
//! 2. A check that every request saw only its own values.
//! 3. One request's async resource tree, from the lifecycle hooks, and a trace file.
//! 4. What the context layer costs, as a ratio.
//!
//! Loopback only; ends by itself.

mod load;
mod logs;
mod overhead;
mod service;
mod tree;

use std::path::PathBuf;
use std::time::Instant;

use ctxflow::runtime::BuilderExt;
use std::sync::atomic::Ordering;

const REQUESTS: usize = 2_000;
const CONCURRENCY: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    ctxflow_http::Baggage::export(&service::TENANT, "tenant")?;
    let logs = logs::install();
    // Beside the build: `CARGO_TARGET_DIR` when the user set it (as cargo reads it, relative to
    // the current directory), else the workspace's `target/`.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
    let out_dir = target.join("tour");

    println!("ctxflow tour: request context that follows your code\n");
    // The service's runtime propagates context into plain `tokio::spawn` (tokio's task hooks).
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .propagate_context()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let addr = server_rt.block_on(service::serve(service::app(true)));
    let client = client_rt.block_on(async { load::client() });

    println!("[1/4] {REQUESTS} concurrent requests ({CONCURRENCY} in flight) to an axum service on http://{addr}");
    println!("      each: a plain tokio::spawn child, a blocking call, a rayon job over 8 items");
    let failed = client_rt.block_on(load::run(&client, addr, REQUESTS, CONCURRENCY, true));
    let lines = logs.lines();
    println!("      a few of the {} log lines (every one carries its request's id and tenant):", lines.len());
    for line in lines.iter().filter(|l| l.contains("req-7 ") || l.ends_with("req-7")).take(5) {
        println!("        {line}");
    }

    println!("\n[2/4] did every request see only its own values?");
    let (log_lines, log_mismatches) = logs::check(&lines);
    let reads = service::CHECKS.reads.load(Ordering::Relaxed);
    let mismatches = service::CHECKS.mismatches.load(Ordering::Relaxed);
    println!("      ┌──────────┬─────────┬───────────────┬────────────┬─────────────────┬────────────────┐");
    println!("      │ requests │  failed │ reads checked │ mismatches │ log lines check │ log mismatches │");
    println!("      ├──────────┼─────────┼───────────────┼────────────┼─────────────────┼────────────────┤");
    println!(
        "      │ {REQUESTS:>8} │ {failed:>7} │ {reads:>13} │ {mismatches:>10} │ {log_lines:>15} │ {log_mismatches:>14} │"
    );
    println!("      └──────────┴─────────┴───────────────┴────────────┴─────────────────┴────────────────┘");
    println!("      (reads: in the handler, its plain tokio::spawn child, its blocking call, each rayon item)");

    println!("\n[3/4] one request's async resources, from the lifecycle hooks");
    logs.clear();
    let traced = client_rt.block_on(tree::one_request(&client, addr, &out_dir))?;
    for line in traced.tree.lines() {
        println!("        {line}");
    }
    println!("      its trace ({} events): {}", traced.events, traced.json.display());
    println!("        view it: open https://ui.perfetto.dev or chrome://tracing and load the file,");
    println!("        or offline, as drawn by ctxflow: {}", traced.svg.display());

    println!("\n[4/4] what the context layer costs (minimal handler, server CPU per request, interleaved rounds)");
    match client_rt.block_on(overhead::measure(&client, 5, 2_000)) {
        Some(o) => {
            let (low, high) = o.ratio_range();
            println!(
                "      with ctxflow's layer: {:.1} µs   without: {:.1} µs   (medians of {} rounds of {} requests)",
                o.with_layer.as_secs_f64() * 1e6,
                o.without_layer.as_secs_f64() * 1e6,
                o.rounds,
                o.requests_per_round
            );
            println!(
                "      ratio, round by round: median {:.3}x, range {low:.3}x-{high:.3}x   (a quick look on a machine that may be busy; the full benchmark: scripts/bench.sh)",
                o.ratio()
            );
        }
        None => println!("      skipped: this kernel gives no per-thread CPU times (/proc/self/task/*/schedstat)"),
    }

    drop(client);
    client_rt.shutdown_background();
    server_rt.shutdown_background();
    println!(
        "\ndone in {:.1} s. Read more: README.md, docs/semantics.md, docs/hooks.md, docs/http.md",
        started.elapsed().as_secs_f64()
    );
    if failed > 0 || mismatches > 0 || log_mismatches > 0 {
        return Err(
            format!("{failed} failed requests, {mismatches} wrong reads, {log_mismatches} wrong log lines").into()
        );
    }
    Ok(())
}
