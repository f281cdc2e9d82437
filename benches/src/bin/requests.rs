//! The "requests10k" workload on its own, for comparing two builds of ctxflow side by side.
//!
//! `requests [runs]` runs 10 000 concurrent requests (a scope, 20 awaits with a read after each,
//! then 3 children spawned and joined) on a 2-worker runtime, once per run, for plain tokio and
//! for ctxflow, alternating, and prints one line per run: `plain_ns ctxflow_ns`. A second
//! argument picks what plain tokio is paired with: `noop_hook` (ctxflow with a no-op hook
//! registered), `automatic` (plain `tokio::spawn` on a runtime built with `propagate_context()`),
//! `hooks_floor` (plain tokio on a runtime whose four task hooks do nothing: what tokio's own
//! calls of the hooks cost) or `task_local` (`tokio::task_local!`, re-scoped by hand at each
//! spawn: a context with no capture, ids or hooks). With `plain`, `ctxflow`,
//! `ctxflow_noop_hook` or `ctxflow_runtime` it runs that contender alone and prints nothing:
//! for counting instructions under valgrind, where the difference between two run counts is the
//! cost of the extra runs. Its source does not depend on ctxflow's internals, so
//! `scripts/compare.sh` builds the same file against an older commit and runs both binaries in
//! alternation.

use std::time::Instant;

use ctxflow_benches::hook::register_noop;
use ctxflow_benches::runtimes::{multi_thread, multi_thread_builder, propagating};
use ctxflow_benches::workloads::{REQUESTS, requests};
use ctxflow_benches::{Automatic, Contender, Ctxflow, Plain, TaskLocal};

fn time<C: Contender>(rt: &tokio::runtime::Runtime) -> u128 {
    let start = Instant::now();
    let sum = rt.block_on(requests::<C>(REQUESTS));
    let elapsed = start.elapsed().as_nanos();
    std::hint::black_box(sum);
    elapsed
}

/// Runs `C` alone, printing nothing.
fn alone<C: Contender>(rt: &tokio::runtime::Runtime, runs: usize) {
    for _ in 0..runs {
        time::<C>(rt);
    }
}

/// Times plain tokio on `rt` and `C` on `on`, alternating; one line per run.
fn paired<C: Contender>(rt: &tokio::runtime::Runtime, on: &tokio::runtime::Runtime, runs: usize) {
    // Warm-up: the runtime's threads, the allocator's pools.
    time::<Plain>(rt);
    time::<C>(on);
    for _ in 0..runs {
        let plain = time::<Plain>(rt);
        let other = time::<C>(on);
        println!("{plain} {other}");
    }
}

fn main() -> std::process::ExitCode {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let mode = std::env::args().nth(2);
    let rt = multi_thread();
    // A hook is process-wide, but plain tokio raises no ctxflow events: only ctxflow pays for it.
    let _hook = matches!(mode.as_deref(), Some("noop_hook" | "ctxflow_noop_hook")).then(register_noop);
    match mode.as_deref() {
        Some("plain") => alone::<Plain>(&rt, runs),
        Some("ctxflow" | "ctxflow_noop_hook") => alone::<Ctxflow>(&rt, runs),
        Some("ctxflow_runtime") => alone::<Automatic>(&propagating(multi_thread_builder()), runs),
        Some("hooks_floor") => paired::<Plain>(&rt, &empty_hooks(), runs),
        Some("automatic") => paired::<Automatic>(&rt, &propagating(multi_thread_builder()), runs),
        Some("task_local") => paired::<TaskLocal>(&rt, &rt, runs),
        None | Some("noop_hook") => paired::<Ctxflow>(&rt, &rt, runs),
        Some(other) => {
            eprintln!(
                "requests: unknown mode {other:?} (plain, ctxflow, ctxflow_noop_hook, ctxflow_runtime, noop_hook, automatic, hooks_floor, task_local)"
            );
            return std::process::ExitCode::from(2);
        }
    }
    std::process::ExitCode::SUCCESS
}

/// A runtime with the four task hooks of `propagate_context()`, each doing nothing.
fn empty_hooks() -> tokio::runtime::Runtime {
    let mut b = multi_thread_builder();
    b.enable_all()
        .on_task_spawn(|m| {
            std::hint::black_box(m.id());
        })
        .on_before_task_poll(|m| {
            std::hint::black_box(m.id());
        })
        .on_after_task_poll(|m| {
            std::hint::black_box(m.id());
        })
        .on_task_terminate(|m| {
            std::hint::black_box(m.id());
        })
        .build()
        .unwrap()
}
