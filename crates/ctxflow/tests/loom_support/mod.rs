//! What the loom tests share: running a model and reporting how many interleavings it explored.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `f` under loom's model checker (bounded by `LOOM_MAX_PREEMPTIONS`, see
/// `scripts/loom.sh`) and prints the number of executions explored, for `docs/reliability.md`.
pub fn check(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    loom::model(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        f();
    });
    println!("loom: {name}: {} executions", runs.load(Ordering::Relaxed));
}

/// Waits, inside a model, until `flag` is set by another thread.
#[allow(dead_code, reason = "not every loom test waits")]
pub fn wait_for(flag: &loom::sync::atomic::AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        loom::thread::yield_now();
    }
}
