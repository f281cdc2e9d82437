//! The "requests10k" workload on its own, for comparing two builds of ctxflow side by side.
//!
//! `requests [runs] [plain|ctxflow|ctxflow_noop_hook|automatic]` runs 10 000 concurrent
//! requests (a scope, 20 awaits with a read after each, then 3 children spawned and joined) on a
//! 2-worker runtime, once per run, for plain tokio and for ctxflow, alternating, and prints one
//! line per run: `plain_ns ctxflow_ns`. With a second argument `plain`, `ctxflow` or
//! `ctxflow_noop_hook` (ctxflow with a no-op hook registered) it runs that contender alone and
//! prints nothing: for counting instructions under valgrind, where the difference between two
//! run counts is the cost of the extra runs. With `automatic` it pairs plain tokio with
//! ctxflow's automatic propagation (plain `tokio::spawn` on a runtime built with
//! `propagate_context()`), one line per run as above. Its source does not depend on ctxflow's
//! internals, so `scripts/compare.sh` builds the same file against an older commit and runs both
//! binaries in alternation.

use std::time::Instant;

use ctxflow_benches::runtimes::{multi_thread, multi_thread_builder, propagating};
use ctxflow_benches::workloads::{REQUESTS, requests};
use ctxflow_benches::{Automatic, Contender, Ctxflow, Plain};

fn time<C: Contender>(rt: &tokio::runtime::Runtime) -> u128 {
    let start = Instant::now();
    let sum = rt.block_on(requests::<C>(REQUESTS));
    let elapsed = start.elapsed().as_nanos();
    std::hint::black_box(sum);
    elapsed
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let rt = multi_thread();
    match std::env::args().nth(2).as_deref() {
        Some("plain") => {
            return (0..runs).for_each(|_| {
                time::<Plain>(&rt);
            });
        }
        Some("ctxflow") => {
            return (0..runs).for_each(|_| {
                time::<Ctxflow>(&rt);
            });
        }
        Some("ctxflow_noop_hook") => {
            let _hook = ctxflow_benches::hook::register_noop();
            return (0..runs).for_each(|_| {
                time::<Ctxflow>(&rt);
            });
        }
        Some("automatic") => {
            let auto = propagating(multi_thread_builder());
            time::<Plain>(&rt);
            time::<Automatic>(&auto);
            for _ in 0..runs {
                let plain = time::<Plain>(&rt);
                let automatic = time::<Automatic>(&auto);
                println!("{plain} {automatic}");
            }
            return;
        }
        _ => {}
    }
    // Warm-up: the runtime's threads, the allocator's pools.
    time::<Plain>(&rt);
    time::<Ctxflow>(&rt);
    for _ in 0..runs {
        let plain = time::<Plain>(&rt);
        let ctxflow = time::<Ctxflow>(&rt);
        println!("{plain} {ctxflow}");
    }
}
