//! What the context layer costs: the same minimal axum service with and without ctxflow's
//! server layer, each on its own single-worker runtime, driven by the same client in
//! interleaved rounds. The figure is the server threads' CPU time per request (read from
//! /proc/self/task/*/schedstat, in nanoseconds), so the client's own work does not dilute it.
//! The ratio is taken per round, both servers measured back to back, and reported as the
//! median and range of those ratios: on a shared machine the load drifts between rounds, and
//! a ratio of two separate medians can land on either side of 1.

use std::net::SocketAddr;
use std::time::Duration;

use crate::load::{self, HttpClient};
use crate::service;

/// CPU time used so far by this process's threads whose name starts with `prefix`.
fn threads_cpu(prefix: &str) -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(Duration::from_nanos(total))
}

fn server_runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("server runtime")
}

pub struct Overhead {
    pub rounds: usize,
    pub requests_per_round: usize,
    pub with_layer: Duration,
    pub without_layer: Duration,
    /// With the layer over without, one per round, sorted.
    ratios: Vec<f64>,
}

impl Overhead {
    /// The median of the per-round ratios.
    pub fn ratio(&self) -> f64 {
        median(&self.ratios)
    }

    /// The lowest and highest per-round ratio.
    pub fn ratio_range(&self) -> (f64, f64) {
        (self.ratios[0], self.ratios[self.ratios.len() - 1])
    }
}

/// The middle of `sorted` (the upper one of the two for an even count).
fn median<T: Copy>(sorted: &[T]) -> T {
    sorted[sorted.len() / 2]
}

/// Runs the comparison; `None` where the kernel gives no per-thread CPU times.
pub async fn measure(client: &HttpClient, rounds: usize, requests: usize) -> Option<Overhead> {
    threads_cpu("")?;
    let with_rt = server_runtime("with-layer");
    let without_rt = server_runtime("no-layer");
    let with_addr: SocketAddr = with_rt.spawn(service::serve(service::minimal_app(true))).await.ok()?;
    let without_addr: SocketAddr = without_rt.spawn(service::serve(service::minimal_app(false))).await.ok()?;
    let (mut with, mut without, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        // Alternate which goes first, so drift on a shared machine hits both alike.
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for layered in order {
            let (prefix, addr) = if layered { ("with-layer", with_addr) } else { ("no-layer", without_addr) };
            let before = threads_cpu(prefix)?;
            load::run(client, addr, requests, 32, false).await;
            let per_request = (threads_cpu(prefix)? - before) / requests as u32;
            if layered { with.push(per_request) } else { without.push(per_request) }
        }
        ratios.push(with[round].as_secs_f64() / without[round].as_secs_f64());
    }
    with_rt.shutdown_background();
    without_rt.shutdown_background();
    with.sort();
    without.sort();
    ratios.sort_by(f64::total_cmp);
    Some(Overhead {
        rounds: ratios.len(),
        requests_per_round: requests,
        with_layer: median(&with),
        without_layer: median(&without),
        ratios,
    })
}
