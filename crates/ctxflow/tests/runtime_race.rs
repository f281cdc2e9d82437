//! The race of a task re-polled on another worker before the previous poll's after-poll hook
//! ran. Every poll must see the task's own context, with every `set` of the previous polls, and
//! the hooks must see each task's polls in order: never `before`, `before`, `after`, `after`.
//! (One test in this binary: it registers a global hook.)
#![cfg(all(feature = "runtime", tokio_unstable))]

mod race_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ctxflow::AsyncId;
use ctxflow::hooks::{self, Hook};
use ctxflow::runtime::BuilderExt;
use race_support::run_steps;

#[derive(Default)]
struct PollOrder {
    /// Per resource: is a poll in progress?
    polling: Mutex<HashMap<AsyncId, bool>>,
    violations: Mutex<Vec<String>>,
}

impl Hook for PollOrder {
    fn before(&self, id: AsyncId) {
        let was = self.polling.lock().unwrap().insert(id, true);
        if was == Some(true) {
            self.violations.lock().unwrap().push(format!("{id}: before while polling"));
        }
    }
    fn after(&self, id: AsyncId) {
        // Widen the window between the end of a poll and its after-poll hook, in which another
        // worker may already pick the task up again (the wait is not measured or asserted).
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(5) {
            std::hint::spin_loop();
        }
        let was = self.polling.lock().unwrap().insert(id, false);
        if was != Some(true) {
            self.violations.lock().unwrap().push(format!("{id}: after without before"));
        }
    }
}

#[test]
fn polls_of_one_task_never_overlap_and_never_lose_a_write() {
    const TASKS: u64 = 400;
    const STEPS: u64 = 200;
    let order = Arc::new(PollOrder::default());
    let handle = hooks::register(order.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).propagate_context().build().unwrap();
    let checks = run_steps(&rt, TASKS, STEPS);
    drop(rt);
    handle.unregister();
    assert_eq!(checks, TASKS * STEPS);
    let violations = order.violations.lock().unwrap();
    assert!(violations.is_empty(), "{} violations, first: {:?}", violations.len(), violations.first());
    assert_eq!(ctxflow::runtime::tracked_tasks(), 0);
}
