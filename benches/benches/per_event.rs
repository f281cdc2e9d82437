//! Cost per event of the context fields: the same fmt subscriber (writing to `io::sink`)
//! with and without `ContextFields::wrap`, in text and JSON, in one run; prints the ratios.
//!
//! `cargo bench -p ctxflow-benches --bench per_event`
//!
//! Criterion measures each case in its own time window, so on a busy machine its two means
//! can differ by load alone. The printed ratio therefore comes from an interleaved run after
//! the criterion cases: alternating batches of the two subscribers, best batch of each.
//!
//! Every event is emitted inside a request scope with two variables set (a `String` request
//! id and a `&str` tenant), so both subscribers see the same context and the difference is
//! the reading and writing of the two fields.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use ctxflow::ContextVar;
use ctxflow_tracing::ContextFields;
use tracing::Dispatch;
use tracing_subscriber::fmt;

static REQUEST_ID: ContextVar<String> = ContextVar::new("request_id");
static TENANT: ContextVar<&str> = ContextVar::new("tenant");

/// Emits `iters` events through `dispatch` inside a request scope; returns the time taken.
fn emit(dispatch: &Dispatch, iters: u64) -> Duration {
    tracing::dispatcher::with_default(dispatch, || {
        ctxflow::sync_scope((REQUEST_ID.value("req-000042".into()), TENANT.value("acme")), || {
            let start = Instant::now();
            for i in 0..iters {
                tracing::info!(n = black_box(i), "handled");
            }
            start.elapsed()
        })
    })
}

/// Best time per event of each subscriber over alternating batches.
fn interleaved(without: &Dispatch, with: &Dispatch) -> (Duration, Duration) {
    const ROUNDS: usize = 200;
    const BATCH: u64 = 2_000;
    let (mut best_without, mut best_with) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        best_without = best_without.min(emit(without, BATCH) / BATCH as u32);
        best_with = best_with.min(emit(with, BATCH) / BATCH as u32);
    }
    (best_without, best_with)
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
    let text = || fmt().with_ansi(false).with_writer(std::io::sink);
    let json = || fmt().json().with_writer(std::io::sink);
    let cases = [
        ("text", Dispatch::new(text().finish()), Dispatch::new(text().map_event_format(|f| fields.wrap(f)).finish())),
        ("json", Dispatch::new(json().finish()), Dispatch::new(json().map_event_format(|f| fields.wrap(f)).finish())),
    ];
    for (format, without, with) in &cases {
        let mut group = c.benchmark_group(format!("event/{format}"));
        group.bench_function("without_fields", |b| b.iter_custom(|iters| emit(without, iters)));
        group.bench_function("with_fields", |b| b.iter_custom(|iters| emit(with, iters)));
        group.finish();
    }
    c.final_summary();
    for (format, without, with) in &cases {
        let (base, added) = interleaved(without, with);
        println!(
            "{format}: {} ns/event without, {} ns/event with 2 context fields (+{} ns): ratio {:.2}",
            base.as_nanos(),
            added.as_nanos(),
            added.saturating_sub(base).as_nanos(),
            added.as_secs_f64() / base.as_secs_f64()
        );
    }
}
