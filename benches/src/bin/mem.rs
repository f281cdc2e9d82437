//! Memory probe: bytes and allocations that each contender adds, counted by a global
//! allocator wrapper (`stats_alloc`), on one thread so the count is exact.
//!
//! - bytes per live task: 100 000 tasks spawned inside a request scope and parked at an
//!   await, tokio's own cost (plain `tokio::spawn`) subtracted. tokio allocates each task in a
//!   128-byte-aligned cell, so a few bytes more in the future either cost nothing or a whole
//!   128 bytes; the probe therefore also sweeps 16 future sizes across one 128-byte period
//!   and reports the mean, which is what a wrapper costs on average. The automatic runtime
//!   wraps nothing: what it adds is its side table, whose slots grow in steps as it fills, so
//!   a live task's share of them depends on where the count of live tasks falls between two
//!   steps. Its mean is taken over 16 counts spread evenly, in ratio, from 65 536 to twice that
//!   (each in a process of its own: the table keeps its peak capacity for the process).
//! - bytes left behind per task after tasks ended (plain runtime, ctxflow, automatic
//!   propagation runtime).
//! - bytes per live context frame, and allocations per operation (get, poll, scope set-up,
//!   spawn, empty context).
//!
//! Prints one JSON [`Record`] per line.

use std::alloc::System;
use std::future::pending;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use ctxflow::Snapshot;
use ctxflow_benches::contenders::{OtelRequestId, REQUEST_ID};
use ctxflow_benches::hook::register_noop;
use ctxflow_benches::polling::{Forever, poll_once, run_ready};
use ctxflow_benches::record::Record;
use ctxflow_benches::runtimes::{current_thread, current_thread_builder, install_tracing_registry};
use ctxflow_benches::{Automatic, Contender, Ctxflow, Opentelemetry, Plain, TaskLocal, Tracing};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio::task::yield_now;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Live tasks in the headline measurement.
const TASKS: usize = 100_000;
/// Live tasks per size in the sweep.
const SWEEP_TASKS: usize = 20_000;
/// Operations per allocation count.
const OPS: usize = 10_000;
/// The fewest live tasks of the automatic runtime's sweep, which ends below twice as many.
const TABLE_SWEEP_FROM: f64 = 65_536.0;
/// The argument that makes the probe measure the automatic runtime at one count of live tasks.
const TABLE_AT: &str = "table-at";

/// Bytes allocated and not freed since `region` began.
fn live(region: &Region<'_, System>) -> f64 {
    let s = region.change();
    s.bytes_allocated as f64 - s.bytes_deallocated as f64 + s.bytes_reallocated as f64
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A task that holds `W` words across an await that never completes.
async fn parked<C: Contender, const W: usize>() {
    let words = [C::read(); W];
    STARTED.fetch_add(1, Ordering::Relaxed);
    pending::<()>().await;
    black_box(words);
}

/// Mean bytes per live task of contender `C` (future of `W` words), with `n` tasks parked.
fn task_bytes<C: Contender, const W: usize>(n: usize) -> f64 {
    let rt = C::runtime(current_thread_builder());
    let bytes = rt.block_on(C::scope(7, async move {
        // Grow tokio's run queue first, so that its growth is not counted as per-task cost.
        // (`ctxflow::spawn` tasks stay out of the automatic runtime's side table, whose growth
        // *is* a per-task cost of that contender.)
        let warm: Vec<_> = (0..n).map(|_| ctxflow::spawn(async {})).collect();
        for handle in warm {
            let _ = handle.await;
        }
        STARTED.store(0, Ordering::Relaxed);
        let region = Region::new(GLOBAL);
        for _ in 0..n {
            drop(C::spawn(parked::<C, W>()));
        }
        while STARTED.load(Ordering::Relaxed) < n {
            yield_now().await;
        }
        live(&region) / n as f64
    }));
    drop(rt);
    bytes
}

macro_rules! sweep {
    ($c:ty, $n:expr, $($w:literal)+) => {{
        let sizes = [$(task_bytes::<$c, $w>($n)),+];
        sizes.iter().sum::<f64>() / sizes.len() as f64
    }};
}

fn sweep<C: Contender>() -> f64 {
    sweep!(C, SWEEP_TASKS, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
}

fn tasks() {
    let plain = task_bytes::<Plain, 0>(TASKS);
    let plain_sweep = sweep::<Plain>();
    Record::new("mem_task", Plain::NAME, plain, "bytes").print();
    Record::new("mem_task_sweep", Plain::NAME, plain_sweep, "bytes").print();
    let each = |name: &str, one: f64, swept: f64| {
        Record::new("mem_task", name, one, "bytes").print();
        Record::new("mem_task_sweep", name, swept, "bytes").print();
        Record::new("mem_task_added", name, one - plain, "bytes").print();
        Record::new("mem_task_added_sweep", name, swept - plain_sweep, "bytes").print();
    };
    each(Ctxflow::NAME, task_bytes::<Ctxflow, 0>(TASKS), sweep::<Ctxflow>());
    {
        let _hook = register_noop();
        each("ctxflow_noop_hook", task_bytes::<Ctxflow, 0>(TASKS), sweep::<Ctxflow>());
    }
    each(TaskLocal::NAME, task_bytes::<TaskLocal, 0>(TASKS), sweep::<TaskLocal>());
    each(Tracing::NAME, task_bytes::<Tracing, 0>(TASKS), sweep::<Tracing>());
    each(Opentelemetry::NAME, task_bytes::<Opentelemetry, 0>(TASKS), sweep::<Opentelemetry>());
    // The automatic runtime spawns the future as it is, so its task cell is plain tokio's at every
    // size; what it adds is its side table, which keeps its peak capacity for the process: a
    // second count measured in this process would find the first one's slots. So the sweep is
    // over counts of live tasks, each measured by a process of its own.
    let automatic = task_bytes::<Automatic, 0>(TASKS);
    Record::new("mem_task", Automatic::NAME, automatic, "bytes").print();
    Record::new("mem_task_added", Automatic::NAME, automatic - plain, "bytes").print();
    let counts: Vec<usize> =
        (0..16).map(|k| (TABLE_SWEEP_FROM * 2f64.powf(f64::from(k) / 16.0)).round() as usize).collect();
    let added: Vec<f64> = counts.iter().map(|&n| added_by_table_at(n)).collect();
    let mean = added.iter().sum::<f64>() / added.len() as f64;
    Record::new("mem_task_added_sweep", Automatic::NAME, mean, "bytes").print();
    for (n, bytes) in counts.iter().zip(&added) {
        Record::new("mem_task_added_at_count", &format!("{}_{n}", Automatic::NAME), *bytes, "bytes").print();
    }
}

/// Bytes per live task that the automatic runtime adds to plain tokio's with `n` tasks live,
/// measured by a process of its own (see [`tasks`]).
fn added_by_table_at(n: usize) -> f64 {
    let exe = std::env::current_exe().expect("the probe finds its own executable");
    let out = std::process::Command::new(exe).args([TABLE_AT, &n.to_string()]).output().expect("the probe runs itself");
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().parse() {
        Ok(bytes) if out.status.success() => bytes,
        _ => panic!("`mem {TABLE_AT} {n}` failed ({}): {text}", out.status),
    }
}

/// Spawns [`TASKS`] tasks of contender `C` and joins them all.
async fn batch<C: Contender>() {
    let handles: Vec<_> = (0..TASKS).map(|_| C::spawn(async { black_box(C::read()) })).collect();
    for handle in handles {
        let _ = handle.await;
    }
}

/// Live bytes left per task after a second batch of [`TASKS`] tasks ended (the first batch
/// grows whatever capacity the runtime keeps): anything above zero grows with every task.
fn bytes_left_per_ended_task<C: Contender>() -> f64 {
    let rt = C::runtime(current_thread_builder());
    let left = rt.block_on(C::scope(7, async {
        batch::<C>().await;
        let region = Region::new(GLOBAL);
        batch::<C>().await;
        live(&region) / TASKS as f64
    }));
    drop(rt);
    left
}

fn after_end() {
    Record::new("mem_after_end", Plain::NAME, bytes_left_per_ended_task::<Plain>(), "bytes").print();
    Record::new("mem_after_end", Ctxflow::NAME, bytes_left_per_ended_task::<Ctxflow>(), "bytes").print();
    Record::new("mem_after_end", Automatic::NAME, bytes_left_per_ended_task::<Automatic>(), "bytes").print();
}

/// Mean live bytes per item of `make(i)`, over `TASKS` items kept alive.
fn per_item<T>(make: impl Fn(u64) -> T) -> f64 {
    let mut keep = Vec::with_capacity(TASKS);
    let region = Region::new(GLOBAL);
    for i in 0..TASKS {
        keep.push(make(i as u64));
    }
    let bytes = live(&region) / TASKS as f64;
    drop(keep);
    bytes
}

static TENANT: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("tenant");
static USER: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("user");
static ROUTE: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("route");

fn frames() {
    let one = per_item(|i| REQUEST_ID.sync_scope(i, Snapshot::capture));
    Record::new("mem_frame", "ctxflow_1_var", one, "bytes").print();
    let four = per_item(|i| {
        ctxflow::sync_scope((REQUEST_ID.value(i), TENANT.value(i), USER.value(i), ROUTE.value(i)), Snapshot::capture)
    });
    Record::new("mem_frame", "ctxflow_4_vars", four, "bytes").print();
    let otel = per_item(|i| opentelemetry::Context::new().with_value(OtelRequestId(i)));
    Record::new("mem_frame", "opentelemetry_1_value", otel, "bytes").print();
    let spans = per_item(|i| tracing::info_span!("request", id = i));
    Record::new("mem_frame", "tracing_span", spans, "bytes").print();
}

/// Allocations per call of `op`, over [`OPS`] calls.
fn allocs_per<R>(mut op: impl FnMut() -> R) -> f64 {
    black_box(op()); // first use may assign keys, grow thread-local storage, ...
    let region = Region::new(GLOBAL);
    for _ in 0..OPS {
        black_box(op());
    }
    region.change().allocations as f64 / OPS as f64
}

fn allocations() {
    let each = |name: &str, n: f64| Record::new("allocs", name, n, "allocs").print();
    REQUEST_ID.sync_scope(7, || {
        each("ctxflow_get", allocs_per(|| REQUEST_ID.get()));
        each("ctxflow_with", allocs_per(|| REQUEST_ID.with(|v| v.copied())));
    });
    let mut scoped = Box::pin(REQUEST_ID.scope(7, Forever));
    each("ctxflow_poll_in_scope", allocs_per(|| poll_once(scoped.as_mut())));
    each("ctxflow_scope_setup", allocs_per(|| run_ready(REQUEST_ID.scope(7, async { 1 }))));
    each("ctxflow_sync_scope", allocs_per(|| REQUEST_ID.sync_scope(7, || 1)));
    each("task_local_scope_setup", allocs_per(|| run_ready(TaskLocal::scope(7, async { 1 }))));
    each("ctxflow_capture_empty", allocs_per(Snapshot::capture));
    each("ctxflow_empty_run", allocs_per(|| run_ready(Snapshot::empty().run(async { 1 }))));
    let rt = current_thread();
    each("tokio_spawn_join", rt.block_on(spawn_allocs::<Plain>()));
    each("ctxflow_spawn_join", rt.block_on(Ctxflow::scope(7, spawn_allocs::<Ctxflow>())));
    each("ctxflow_spawn_join_empty_context", rt.block_on(spawn_allocs::<Ctxflow>()));
}

/// Allocations per spawn + join of contender `C`, in the context the caller set up.
async fn spawn_allocs<C: Contender>() -> f64 {
    let _ = C::spawn(async {}).await;
    let region = Region::new(GLOBAL);
    for _ in 0..OPS {
        let _ = C::spawn(async { black_box(C::read()) }).await;
    }
    region.change().allocations as f64 / OPS as f64
}

fn main() {
    install_tracing_registry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [first, n] = &args[..]
        && first == TABLE_AT
    {
        let n: usize = n.parse().expect("a count of tasks");
        println!("{}", task_bytes::<Automatic, 0>(n) - task_bytes::<Plain, 0>(n));
        return;
    }
    tasks();
    after_end();
    frames();
    allocations();
}
