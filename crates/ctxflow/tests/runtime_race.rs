//! The race of a task re-polled on another worker before the previous poll's after-poll hook
//! ran. Every poll must see the task's own context, with every `set` of the previous polls, and
//! the hooks must see each task's polls in order: never `before`, `before`, `after`, `after`.
//! (One test in this binary: it registers a global hook.)
#![cfg(all(feature = "runtime", tokio_unstable))]

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ctxflow::hooks::{self, Hook};
use ctxflow::runtime::BuilderExt;
use ctxflow::{AsyncId, ContextVar};

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static STEP: ContextVar<u64> = ContextVar::new("step");

/// Wakes its own task during the poll and returns `Pending` once: the task is queued again
/// (and can be stolen) before the poll ends.
struct WakeSelf(bool);

impl Future for WakeSelf {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

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
    let checks: u64 = rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                REQUEST.sync_scope(t, || {
                    tokio::spawn(async move {
                        let me = ctxflow::execution_id();
                        let mut checks = 0;
                        for step in 0..STEPS {
                            STEP.set(step).unwrap();
                            if step % 2 == 0 {
                                WakeSelf(false).await;
                            } else {
                                tokio::task::yield_now().await;
                            }
                            assert_eq!(REQUEST.get(), Some(t), "task {t} step {step}: request");
                            assert_eq!(STEP.get(), Some(step), "task {t} step {step}: write lost");
                            assert_eq!(ctxflow::execution_id(), me, "task {t} step {step}: id");
                            checks += 1;
                        }
                        checks
                    })
                })
            })
            .collect();
        let mut checks = 0;
        for t in tasks {
            checks += t.await.unwrap();
        }
        checks
    });
    drop(rt);
    handle.unregister();
    assert_eq!(checks, TASKS * STEPS);
    let violations = order.violations.lock().unwrap();
    assert!(violations.is_empty(), "{} violations, first: {:?}", violations.len(), violations.first());
    assert_eq!(ctxflow::runtime::tracked_tasks(), 0);
}
