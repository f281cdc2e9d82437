//! Costs on a real tokio runtime: spawn + join, a task of 20 awaits (current-thread and
//! multi-thread runtimes), and 10 000 concurrent requests that each spawn 3 children; for
//! every contender, for ctxflow again with a no-op hook registered, and for plain
//! `tokio::spawn` on a runtime with ctxflow's automatic propagation.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Bencher, Criterion, SamplingMode, criterion_group, criterion_main};
use ctxflow_benches::hook::with_noop_hook;
use ctxflow_benches::rounds::{in_round_order, round};
use ctxflow_benches::runtimes::{
    current_thread, current_thread_builder, install_tracing_registry, multi_thread, multi_thread_builder, propagating,
};
use ctxflow_benches::workloads::{Requests, SpawnAwaits, SpawnJoin, Workload};
use ctxflow_benches::{Automatic, Contender, Ctxflow, Opentelemetry, Plain, TaskLocal, Tracing};
use tokio::runtime::Runtime;

type Entry<'a> = (&'static str, Box<dyn Fn(&mut Bencher) + 'a>);

/// Runs workload `W` `iters` times in one task of `rt`, inside a request scope of `C`.
fn drive<C: Contender, W: Workload>(rt: &Runtime, iters: u64) -> Duration {
    let timed = C::scope(7, async move {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(W::run::<C>().await);
        }
        start.elapsed()
    });
    rt.block_on(rt.spawn(timed)).expect("the timed task completes")
}

fn entry<C: Contender, W: Workload>(rt: &Runtime) -> Entry<'_> {
    (C::NAME, Box::new(move |b| b.iter_custom(|iters| drive::<C, W>(rt, iters))))
}

/// ctxflow with a no-op hook registered while it is measured.
fn hooked<W: Workload>(rt: &Runtime) -> Entry<'_> {
    ("ctxflow_noop_hook", Box::new(move |b| b.iter_custom(|iters| with_noop_hook(|| drive::<Ctxflow, W>(rt, iters)))))
}

/// Every contender on `rt`, and the automatic-propagation contender on `auto`, a runtime of
/// the same flavor with ctxflow's task hooks installed.
fn contenders<'a, W: Workload>(rt: &'a Runtime, auto: &'a Runtime) -> Vec<Entry<'a>> {
    vec![
        entry::<Plain, W>(rt),
        entry::<Ctxflow, W>(rt),
        hooked::<W>(rt),
        entry::<TaskLocal, W>(rt),
        entry::<Tracing, W>(rt),
        entry::<Opentelemetry, W>(rt),
        entry::<Automatic, W>(auto),
    ]
}

fn run(c: &mut Criterion, group: &str, samples: usize, entries: Vec<Entry<'_>>) {
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    if samples <= 10 {
        // Long iterations: the same iteration count in every sample keeps the run short.
        g.sampling_mode(SamplingMode::Flat);
    }
    for (name, bench) in in_round_order(entries, round()) {
        g.bench_function(name, |b| bench(b));
    }
    g.finish();
}

fn spawn_join(c: &mut Criterion) {
    install_tracing_registry();
    let (rt, auto) = (current_thread(), propagating(current_thread_builder()));
    run(c, "spawn_join_ct", 50, contenders::<SpawnJoin>(&rt, &auto));
}

fn awaits_current_thread(c: &mut Criterion) {
    install_tracing_registry();
    let (rt, auto) = (current_thread(), propagating(current_thread_builder()));
    run(c, "awaits20_ct", 50, contenders::<SpawnAwaits>(&rt, &auto));
}

fn awaits_multi_thread(c: &mut Criterion) {
    install_tracing_registry();
    let (rt, auto) = (multi_thread(), propagating(multi_thread_builder()));
    run(c, "awaits20_mt", 50, contenders::<SpawnAwaits>(&rt, &auto));
}

fn requests(c: &mut Criterion) {
    install_tracing_registry();
    let (rt, auto) = (multi_thread(), propagating(multi_thread_builder()));
    run(c, "requests10k_mt", 10, contenders::<Requests>(&rt, &auto));
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

criterion_group! {
    name = tasks;
    config = config();
    targets = spawn_join, awaits_current_thread, awaits_multi_thread, requests
}
criterion_main!(tasks);
