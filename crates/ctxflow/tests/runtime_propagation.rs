//! Automatic propagation on an opted-in runtime: plain `tokio::spawn`, at any depth, by code
//! that knows nothing of ctxflow, sees the spawner's context.
#![cfg(all(feature = "runtime", tokio_unstable))]

use std::time::Duration;

use ctxflow::runtime::BuilderExt;
use ctxflow::{ContextVar, Snapshot};
use tokio::runtime::{Builder, Runtime};
use tokio::task::{JoinSet, yield_now};

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static USER: ContextVar<String> = ContextVar::new("user");
static TXN: ContextVar<u64> = ContextVar::new("txn").not_inherited();

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread().worker_threads(workers).enable_all().propagate_context().build().unwrap()
}

/// Stands in for a driver or framework: spawns with plain tokio, three levels deep.
mod third_party {
    pub async fn query<T: Send + 'static>(read: fn() -> T) -> T {
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                tokio::spawn(async move { read() }).await.unwrap()
            })
            .await
            .unwrap()
        })
        .await
        .unwrap()
    }
}

#[test]
fn plain_spawn_three_levels_deep_sees_the_request() {
    let rt = multi_thread(2);
    let seen = rt.block_on(REQUEST.scope(42, third_party::query(|| REQUEST.get())));
    assert_eq!(seen, Some(42));
    // Outside any scope, the same code sees nothing.
    assert_eq!(rt.block_on(third_party::query(|| REQUEST.get())), None);
}

#[test]
fn current_thread_runtime_propagates_too() {
    let rt = Builder::new_current_thread().enable_all().propagate_context().build().unwrap();
    assert_eq!(rt.block_on(REQUEST.scope(5, third_party::query(|| REQUEST.get()))), Some(5));
}

/// tokio's `LocalRuntime` runs `!Send` tasks on one thread and, unlike a `LocalSet`, calls the
/// runtime's task hooks for them: its `spawn_local` inherits like `tokio::spawn`.
#[test]
fn local_runtime_spawn_local_inherits_and_keeps_tasks_apart() {
    const TASKS: u64 = 1_000;
    let rt = Builder::new_current_thread()
        .enable_all()
        .propagate_context()
        .build_local(tokio::runtime::LocalOptions::default())
        .unwrap();
    let reads = rt.block_on(async {
        let handlers: Vec<_> = (0..TASKS)
            .map(|r| {
                tokio::task::spawn_local(REQUEST.scope(r, async move {
                    yield_now().await;
                    let child = tokio::task::spawn_local(async move {
                        yield_now().await;
                        // A `!Send` task, as the runtime exists for.
                        let not_send = std::rc::Rc::new(REQUEST.get());
                        yield_now().await;
                        *not_send
                    });
                    let own = REQUEST.get();
                    (r, own, child.await.unwrap())
                }))
            })
            .collect();
        let mut reads = Vec::new();
        for handler in handlers {
            reads.push(handler.await.unwrap());
        }
        reads
    });
    assert_eq!(reads.len() as u64, TASKS);
    for (r, own, child) in reads {
        assert_eq!((own, child), (Some(r), Some(r)), "task {r}");
    }
    // Outside any scope, a local task sees nothing.
    assert_eq!(rt.block_on(async { tokio::task::spawn_local(async { REQUEST.get() }).await.unwrap() }), None);
}

#[test]
fn ten_thousand_concurrent_requests_with_children_and_grandchildren() {
    const REQUESTS: u64 = 10_000;
    let rt = multi_thread(4);
    let checked = rt.block_on(async {
        let mut set = JoinSet::new();
        for r in 0..REQUESTS {
            // The request handler is spawned with plain JoinSet::spawn; its scope is its own.
            set.spawn(REQUEST.scope(r, async move {
                let mut checks = 0u64;
                yield_now().await;
                assert_eq!(REQUEST.get(), Some(r));
                checks += 1;
                let children: Vec<_> = (0..2)
                    .map(|_| {
                        tokio::spawn(async move {
                            yield_now().await;
                            assert_eq!(REQUEST.get(), Some(r));
                            let grandchild = tokio::spawn(async move {
                                yield_now().await;
                                REQUEST.get()
                            });
                            assert_eq!(grandchild.await.unwrap(), Some(r));
                            assert_eq!(REQUEST.get(), Some(r));
                            3u64
                        })
                    })
                    .collect();
                for c in children {
                    checks += c.await.unwrap();
                }
                assert_eq!(REQUEST.get(), Some(r));
                checks + 1
            }));
        }
        let mut checked = 0;
        while let Some(done) = set.join_next().await {
            checked += done.unwrap();
        }
        checked
    });
    assert_eq!(checked, REQUESTS * 8, "every read ran and matched");
}

#[test]
fn set_in_a_plain_task_persists_across_awaits_and_does_not_leak() {
    let rt = multi_thread(2);
    rt.block_on(USER.scope("parent".to_string(), async {
        let mut set = JoinSet::new();
        for i in 0..200 {
            set.spawn(async move {
                assert_eq!(USER.get().as_deref(), Some("parent"));
                USER.set(format!("task-{i}")).unwrap();
                for _ in 0..5 {
                    yield_now().await;
                    tokio::time::sleep(Duration::from_micros(50)).await;
                    assert_eq!(USER.get(), Some(format!("task-{i}")));
                }
                // A child spawned after the write inherits the written value.
                let child = tokio::spawn(async { USER.get() }).await.unwrap();
                assert_eq!(child, Some(format!("task-{i}")));
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        assert_eq!(USER.get().as_deref(), Some("parent"), "no child's write reached the parent");
    }));
    // Fresh tasks on the same workers see nothing: nothing stayed behind on a worker thread.
    let leftovers = rt.block_on(async {
        let tasks: Vec<_> = (0..50).map(|_| tokio::spawn(async { USER.get() })).collect();
        let mut seen = Vec::new();
        for t in tasks {
            seen.push(t.await.unwrap());
        }
        seen
    });
    assert!(leftovers.iter().all(Option::is_none), "{leftovers:?}");
}

/// `block_in_place` hands the worker to another thread while the task's code goes on on this
/// one. A plain task keeps its own context inside and after it, whether its first read in the
/// poll (which looks its frame up) comes before or inside, and keeps the writes made inside.
#[test]
fn block_in_place_keeps_a_plain_tasks_context_and_its_writes() {
    const TASKS: u64 = 200;
    let rt = multi_thread(2);
    let checked = rt.block_on(REQUEST.scope(1, async {
        let mut set = JoinSet::new();
        for i in 0..TASKS {
            set.spawn(async move {
                // Even tasks read and write before `block_in_place`, odd ones first inside it.
                let expected = if i % 2 == 0 {
                    assert_eq!(REQUEST.get(), Some(1));
                    REQUEST.set(100 + i).unwrap();
                    Some(100 + i)
                } else {
                    Some(1)
                };
                let inside = tokio::task::block_in_place(|| {
                    let before = (REQUEST.get(), REQUEST.get());
                    REQUEST.set(1_000 + i).unwrap();
                    (before, REQUEST.get())
                });
                assert_eq!(inside, ((expected, expected), Some(1_000 + i)), "task {i}");
                yield_now().await;
                assert_eq!(REQUEST.get(), Some(1_000 + i), "task {i}, after");
                let child = tokio::spawn(async { REQUEST.get() }).await.unwrap();
                assert_eq!(child, Some(1_000 + i), "task {i}'s child");
                1
            });
        }
        let mut checked = 0;
        while let Some(done) = set.join_next().await {
            checked += done.unwrap();
        }
        assert_eq!(REQUEST.get(), Some(1), "no task's write reached the parent");
        checked
    }));
    assert_eq!(checked, TASKS);
}

#[test]
fn spawn_sites_outside_tasks_capture_their_own_context() {
    let rt = multi_thread(2);
    // From a foreign thread through the handle.
    let handle = rt.handle().clone();
    let from_thread = REQUEST.sync_scope(9, || handle.spawn(async { REQUEST.get() }));
    assert_eq!(rt.block_on(from_thread).unwrap(), Some(9));
    // From the `block_on` body, wrapped in a scope.
    let from_main = rt.block_on(REQUEST.scope(10, async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }));
    assert_eq!(from_main, Some(10));
    // A snapshot captured earlier, entered for the block_on body.
    let snap = REQUEST.sync_scope(11, Snapshot::capture);
    let from_snap = rt.block_on(snap.run(async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }));
    assert_eq!(from_snap, Some(11));
}

#[test]
fn not_inherited_variables_stay_with_the_spawner() {
    let rt = multi_thread(2);
    let (child_txn, child_req) = rt.block_on(ctxflow::scope((TXN.value(1), REQUEST.value(2)), async {
        tokio::spawn(async { (TXN.get(), REQUEST.get()) }).await.unwrap()
    }));
    assert_eq!((child_txn, child_req), (None, Some(2)));
}

#[test]
fn ids_link_children_to_their_spawner() {
    let rt = multi_thread(2);
    rt.block_on(async {
        let (parent, child_trigger, child) = tokio::spawn(async {
            let parent = ctxflow::execution_id();
            let (trigger, child) =
                tokio::spawn(async { (ctxflow::trigger_id(), ctxflow::execution_id()) }).await.unwrap();
            (parent, trigger, child)
        })
        .await
        .unwrap();
        assert_ne!(parent, ctxflow::AsyncId::ROOT);
        assert_eq!(child_trigger, parent);
        assert_ne!(child, parent);
    });
}

#[test]
fn ctxflow_spawn_on_an_opted_in_runtime_is_tracked_once() {
    let rt = multi_thread(2);
    rt.block_on(REQUEST.scope(3, async {
        let (seen, trigger, me) = ctxflow::spawn(async {
            yield_now().await;
            (REQUEST.get(), ctxflow::trigger_id(), ctxflow::execution_id())
        })
        .await
        .unwrap();
        assert_eq!(seen, Some(3));
        // The runtime did not wrap it a second time: its trigger is the spawner itself.
        assert_eq!(trigger, ctxflow::execution_id());
        assert_ne!(me, trigger);
    }));
}

#[test]
fn blocking_work_inherits_through_ctxflow_spawn_blocking_only() {
    let rt = multi_thread(2);
    let (wrapped, plain) = rt.block_on(REQUEST.scope(4, async {
        tokio::spawn(async {
            let wrapped = ctxflow::spawn_blocking(|| REQUEST.get()).await.unwrap();
            // tokio gives blocking tasks no spawn or poll hook: the documented gap.
            let plain = tokio::task::spawn_blocking(|| REQUEST.get()).await.unwrap();
            (wrapped, plain)
        })
        .await
        .unwrap()
    }));
    assert_eq!((wrapped, plain), (Some(4), None));
}

#[test]
fn a_panicking_task_leaves_nothing_behind_on_its_worker() {
    let rt = multi_thread(2);
    rt.block_on(REQUEST.scope(6, async {
        let failed = tokio::spawn(async {
            REQUEST.set(60).unwrap();
            yield_now().await;
            panic!("task failed");
        });
        assert!(failed.await.unwrap_err().is_panic());
        let after: Vec<_> = (0..20).map(|_| tokio::spawn(async { REQUEST.get() })).collect();
        for t in after {
            assert_eq!(t.await.unwrap(), Some(6));
        }
    }));
}

#[test]
fn aborted_and_cancelled_tasks_do_not_disturb_the_rest() {
    let rt = multi_thread(2);
    rt.block_on(REQUEST.scope(7, async {
        let pending: Vec<_> = (0..100).map(|_| tokio::spawn(std::future::pending::<()>())).collect();
        for p in &pending {
            p.abort();
        }
        for p in pending {
            assert!(p.await.unwrap_err().is_cancelled());
        }
        assert_eq!(tokio::spawn(async { REQUEST.get() }).await.unwrap(), Some(7));
        assert_eq!(REQUEST.get(), Some(7));
    }));
}

/// What a dropped future saw: `REQUEST`, and whether it had an execution id of its own.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(Option<u64>, bool)>>>;

/// Reads `REQUEST` and the execution id when dropped.
struct ReadOnDrop(Seen);

impl Drop for ReadOnDrop {
    fn drop(&mut self) {
        let own_id = ctxflow::execution_id() != ctxflow::AsyncId::ROOT;
        self.0.lock().unwrap().push((REQUEST.get(), own_id));
    }
}

#[test]
fn tasks_dropped_at_shutdown_see_their_own_context_never_the_droppers() {
    let seen = Seen::default();
    let rt = multi_thread(2);
    rt.block_on(async {
        for request in 0..64 {
            let guard = ReadOnDrop(seen.clone());
            // Polled once or not at all by the time the runtime shuts down: either way the
            // future is dropped then, by the thread that drops the runtime.
            REQUEST
                .scope(request, async move {
                    tokio::spawn(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await;
                    });
                })
                .await;
        }
    });
    // Dropped by this thread, inside an unrelated request's scope.
    REQUEST.sync_scope(999, || drop(rt));
    let mut seen = std::mem::take(&mut *seen.lock().unwrap());
    seen.sort();
    assert_eq!(seen, (0..64).map(|r| (Some(r), true)).collect::<Vec<_>>());
}
