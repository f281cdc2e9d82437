//! The re-poll race with no hook registered, where a task's poll enters nothing until its code
//! reads the context, and enters its frame on the second read (see `runtime/table.rs`): every
//! poll must still see the task's own context, with every `set` of the previous polls, whether
//! the write went straight to the table or through the frame entered for the poll. (A binary of
//! its own: `runtime_race` registers a global hook.)
#![cfg(all(feature = "runtime", tokio_unstable))]

mod race_support;

use ctxflow::runtime::BuilderExt;
use race_support::run_steps;

#[test]
fn without_hooks_no_write_is_lost_and_no_context_is_stale() {
    const TASKS: u64 = 400;
    const STEPS: u64 = 200;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).propagate_context().build().unwrap();
    assert_eq!(run_steps(&rt, TASKS, STEPS), TASKS * STEPS);
    drop(rt);
    assert_eq!(ctxflow::runtime::tracked_tasks(), 0);
}
