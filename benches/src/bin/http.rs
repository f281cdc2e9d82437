//! HTTP probe: a minimal axum service with and without ctxflow-http's `ServerLayer`, under
//! `wrk` on loopback, measuring the server's CPU time per request and requests per second.
//!
//! `http probe [seconds] [connections]` starts this same binary as `http serve <variant>` in a
//! child process for each variant (in round order), loads it for `seconds` after a one-second
//! warm-up, and reads the child's CPU time from `/proc/<pid>/task/*/schedstat` (nanoseconds on
//! CPU, summed over its threads). Prints JSON [`Record`]s. Without `wrk` on the PATH it says
//! so on stderr and prints nothing.
//!
//! `http stack [seconds] [connections]` does the same for the service users run
//! (`service_stack.rs`: logs, a spawned task and a downstream call per request) with no
//! context, with ctxflow and with tracing + OpenTelemetry. The downstream service runs in its
//! own child process, so only the service's CPU is counted; every request carries a
//! `traceparent`, as inside a traced system. `http stack-variants` lists its variants.

use std::process::{Command, ExitCode};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::get;
use ctxflow_benches::child_server::{ChildServer, listen_and_serve};
use ctxflow_benches::record::Record;
use ctxflow_benches::rounds::{in_round_order, round};
use ctxflow_benches::service_stack::{self, STACK_VARIANTS};
use ctxflow_http::ServerLayer;
use tower::util::MapRequestLayer;

/// The bare router, the same with a pass-through tower layer (what any layer costs in axum),
/// and the same with ctxflow-http's `ServerLayer`.
const VARIANTS: [&str; 3] = ["axum", "noop_layer", "ctxflow_layer"];

fn serve(variant: &str) -> ExitCode {
    let app = Router::new().route("/", get(|| async { "hello" }));
    let app = match variant {
        "ctxflow_layer" => app.layer(ServerLayer::new()),
        "noop_layer" => app.layer(MapRequestLayer::new(|req: Request| req)),
        _ => app,
    };
    listen_and_serve(|listener| async move { axum::serve(listener, app).await.expect("the server runs") });
    ExitCode::SUCCESS
}

/// Nanoseconds the process `pid` has spent on a CPU, over all its live threads.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// A `traceparent` for the stack comparison's requests.
const TRACEPARENT: &str = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Runs wrk against `port` (with `headers`); returns the number of requests it completed.
fn wrk(port: u16, seconds: u64, connections: u32, headers: &[&str]) -> Option<u64> {
    let out = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(headers.iter().flat_map(|h| ["-H", h]))
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "  123456 requests in 4.00s, 12.34MB read"
    text.lines().find_map(|l| l.trim().split_once(" requests in ")?.0.trim().parse().ok())
}

/// This binary run as `args`, in a child process.
fn start(args: &[&str]) -> Option<ChildServer> {
    ChildServer::start(&std::env::current_exe().ok()?, args)
}

/// What one load run measures: the group its records go to, the variants, how to start a
/// variant's server, and the request headers.
struct Load<'a> {
    group: &'a str,
    variants: Vec<&'a str>,
    serve: &'a dyn Fn(&str) -> Vec<String>,
    headers: &'a [&'a str],
}

fn probe(seconds: u64, connections: u32, load: Load<'_>) -> ExitCode {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("http probe: `wrk` is not installed (apt-get install wrk); HTTP figures skipped");
        return ExitCode::SUCCESS;
    }
    for variant in in_round_order(load.variants.clone(), round()) {
        let args = (load.serve)(variant);
        let Some(server) = start(&args.iter().map(String::as_str).collect::<Vec<_>>()) else {
            eprintln!("http probe: the {variant} server did not start");
            return ExitCode::FAILURE;
        };
        let (pid, port) = (server.pid(), server.port());
        let _ = wrk(port, 1, connections, load.headers); // warm-up
        std::thread::sleep(Duration::from_millis(200));
        let before = cpu_ns(pid);
        let requests = wrk(port, seconds, connections, load.headers);
        let cpu = cpu_ns(pid).saturating_sub(before);
        drop(server);
        match requests {
            Some(n) if n > 0 => {
                Record::new(&format!("{}_cpu_per_request", load.group), variant, cpu as f64 / n as f64, "ns").print();
                Record::new(&format!("{}_rps", load.group), variant, n as f64 / seconds as f64, "req/s").print();
            }
            _ => eprintln!("http probe: wrk reported no requests for {variant}"),
        }
    }
    ExitCode::SUCCESS
}

/// The stack comparison: a downstream server for the whole run, then [`probe`].
fn stack(seconds: u64, connections: u32) -> ExitCode {
    let Some(downstream) = start(&["downstream"]) else {
        eprintln!("http stack: the downstream server did not start");
        return ExitCode::FAILURE;
    };
    let port = downstream.port();
    let serve = move |variant: &str| vec!["stack-serve".to_string(), variant.to_string(), port.to_string()];
    let load = Load { group: "stack", variants: STACK_VARIANTS.to_vec(), serve: &serve, headers: &[TRACEPARENT] };
    let code = probe(seconds, connections, load);
    drop(downstream);
    code
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("serve") => serve(args.get(1).map_or("axum", String::as_str)),
        Some("probe") => {
            let serve = |variant: &str| vec!["serve".to_string(), variant.to_string()];
            let load = Load { group: "http", variants: VARIANTS.to_vec(), serve: &serve, headers: &[] };
            probe(num(1, 4), num(2, 32) as u32, load)
        }
        Some("stack") => stack(num(1, 4), num(2, 32) as u32),
        Some("stack-serve") => {
            let port = num(2, 0) as u16;
            service_stack::serve(args.get(1).map_or("stack_bare", String::as_str), ([127, 0, 0, 1], port).into());
            ExitCode::SUCCESS
        }
        Some("stack-variants") => {
            // For scripts that serve each variant themselves (`scripts/layer-instructions.sh`).
            println!("{}", STACK_VARIANTS.join(" "));
            ExitCode::SUCCESS
        }
        Some("downstream") => {
            service_stack::serve_downstream();
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: http probe [seconds] [connections] | http stack [seconds] [connections] | \
                 http stack-variants | http serve <axum|noop_layer|ctxflow_layer>"
            );
            ExitCode::from(2)
        }
    }
}
