//! The model tests of `model.rs` with a hook registered, which changes the paths a task's poll
//! takes: every poll of a plain task on a propagating runtime enters its frame and ids for the
//! hooks (without a hook it enters nothing until its code reads), and every task, thread and
//! poll dispatches events. The hook reads the context at each `before` and `after`, as a
//! diagnostic hook would, inside the context of the code it reports on. (A binary of its own: a
//! hook is registered for the whole process.)

mod model_support;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use ctxflow::AsyncId;
use ctxflow::hooks::{self, Hook, HookHandle};
use model_support::{Spawner, check_async, check_threaded, op, read_all};
use proptest::prelude::*;

/// Reads every variable of the model at each `before` and `after`, and counts the reads.
struct Reads;

static READS: AtomicUsize = AtomicUsize::new(0);

impl Hook for Reads {
    fn before(&self, _: AsyncId) {
        std::hint::black_box(read_all());
        READS.fetch_add(1, Ordering::Relaxed);
    }

    fn after(&self, _: AsyncId) {
        std::hint::black_box(read_all());
        READS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `check` with [`Reads`] registered (once, for every test of this binary), and checks
/// that the hook ran meanwhile: every program runs in a task or thread of its own.
fn hooked(check: impl FnOnce()) {
    static HOOK: OnceLock<HookHandle> = OnceLock::new();
    HOOK.get_or_init(|| hooks::register(Reads));
    let before = READS.load(Ordering::Relaxed);
    check();
    assert!(READS.load(Ordering::Relaxed) > before, "the hook never ran");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hooked_async_programs_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        hooked(|| check_async(ops, Spawner::Ctxflow));
    }

    #[cfg(all(feature = "runtime", tokio_unstable))]
    #[test]
    fn hooked_plain_tasks_on_a_propagating_runtime_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        hooked(|| check_async(ops, Spawner::Tokio));
    }

    #[test]
    fn hooked_local_tasks_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        hooked(|| check_async(ops, Spawner::Local));
    }

    #[test]
    fn hooked_threaded_programs_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        hooked(|| check_threaded(ops));
    }
}
