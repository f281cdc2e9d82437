//! Shared by the re-poll race tests: tasks that wake themselves during their polls, so that a
//! task is queued again (and can be stolen by another worker) before its poll has ended, and
//! that check at every step that nothing of their context was lost.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ctxflow::ContextVar;

pub static REQUEST: ContextVar<u64> = ContextVar::new("request");
pub static STEP: ContextVar<u64> = ContextVar::new("step");

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

/// Spawns `tasks` plain tasks in the given runtime, task `t` under `REQUEST = t`; each runs
/// `steps` steps of: `set` the step, wake itself or yield, then read the request, the step
/// and its execution id, every read checked. Returns the number of steps checked.
pub fn run_steps(rt: &tokio::runtime::Runtime, tasks: u64, steps: u64) -> u64 {
    rt.block_on(async {
        let spawned: Vec<_> = (0..tasks)
            .map(|t| {
                REQUEST.sync_scope(t, || {
                    tokio::spawn(async move {
                        let me = ctxflow::execution_id();
                        let mut checks = 0;
                        for step in 0..steps {
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
        for t in spawned {
            checks += t.await.unwrap();
        }
        checks
    })
}
