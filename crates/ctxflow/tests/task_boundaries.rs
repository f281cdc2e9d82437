//! A task never sees nor writes a scope it does not own: `LocalSet` tasks run inside the poll
//! of the code driving the set, tasks of a current-thread runtime run inside whatever scope
//! surrounds `block_on`, and tasks dropped at shutdown are dropped inside whatever scope
//! surrounds the runtime's drop.

use std::sync::{Arc, Mutex};

use ctxflow::{ContextVar, SetError};
use tokio::task::LocalSet;

static REQ: ContextVar<u32> = ContextVar::new("req");

/// What one `LocalSet` run saw.
#[derive(Debug, PartialEq)]
struct LocalRun {
    plain_reads: Vec<Option<u32>>,
    plain_set: Result<(), SetError>,
    inherited_reads: Vec<Option<u32>>,
    inherited_set: Result<(), SetError>,
    after_set_in_inherited: Option<u32>,
    caller_after: Option<u32>,
}

/// Drives a `LocalSet` inside `REQ.scope(req, ..)`: plain `spawn_local` tasks, one of which
/// tries to `set`, and `ctxflow::spawn_local` tasks that inherit and `set` in their own scope.
async fn local_set_run(req: u32) -> LocalRun {
    let local = LocalSet::new();
    REQ.scope(req, async {
        local
            .run_until(async {
                let mut plain = Vec::new();
                for _ in 0..4 {
                    plain.push(tokio::task::spawn_local(async {
                        tokio::task::yield_now().await;
                        REQ.get()
                    }));
                }
                let writer = tokio::task::spawn_local(async { REQ.set(666) });
                let inherited: Vec<_> = (0..4)
                    .map(|_| {
                        ctxflow::spawn_local(async {
                            tokio::task::yield_now().await;
                            REQ.get()
                        })
                    })
                    .collect();
                let setter = ctxflow::spawn_local(async move {
                    let set = REQ.set(req + 1000);
                    tokio::task::yield_now().await;
                    (set, REQ.get())
                });
                let plain_set = writer.await.unwrap();
                let mut plain_reads = Vec::new();
                for t in plain {
                    plain_reads.push(t.await.unwrap());
                }
                let mut inherited_reads = Vec::new();
                for t in inherited {
                    inherited_reads.push(t.await.unwrap());
                }
                let (inherited_set, after_set_in_inherited) = setter.await.unwrap();
                LocalRun {
                    plain_reads,
                    plain_set,
                    inherited_reads,
                    inherited_set,
                    after_set_in_inherited,
                    caller_after: REQ.get(),
                }
            })
            .await
    })
    .await
}

#[test]
fn local_set_tasks_neither_inherit_nor_write_the_drivers_scope() {
    // 64 requests at once, each driving its own LocalSet on a thread of a multi-thread runtime.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let handle = rt.handle().clone();
    let runs: Vec<_> = (0..64)
        .map(|req| {
            let handle = handle.clone();
            rt.spawn_blocking(move || (req, handle.block_on(local_set_run(req))))
        })
        .collect();
    for run in runs {
        let (req, seen) = rt.block_on(run).unwrap();
        assert_eq!(
            seen,
            LocalRun {
                plain_reads: vec![None; 4],
                plain_set: Err(SetError::NotOwner),
                inherited_reads: vec![Some(req); 4],
                inherited_set: Ok(()),
                after_set_in_inherited: Some(req + 1000),
                caller_after: Some(req),
            },
            "request {req}"
        );
    }
}

#[test]
fn tasks_of_a_current_thread_runtime_do_not_see_the_scope_around_block_on() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    REQ.sync_scope(7, || {
        rt.block_on(async {
            assert_eq!(REQ.get(), Some(7), "block_on's own future is no task: it sees the scope");
            let plain = tokio::spawn(async { (REQ.get(), REQ.set(8)) });
            assert_eq!(plain.await.unwrap(), (None, Err(SetError::NotOwner)));
            let inherited = ctxflow::spawn(async { REQ.get() });
            assert_eq!(inherited.await.unwrap(), Some(7));
            assert_eq!(REQ.get(), Some(7));
        });
    });
}

/// Records what `REQ` reads when it is dropped.
struct ReadOnDrop(Arc<Mutex<Vec<Option<u32>>>>);

impl Drop for ReadOnDrop {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(REQ.get());
    }
}

#[test]
fn tasks_dropped_at_shutdown_see_their_own_context_or_none_never_a_bystanders() {
    let plain_seen = Arc::new(Mutex::new(Vec::new()));
    let own_seen = Arc::new(Mutex::new(Vec::new()));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        for _ in 0..16 {
            let guard = ReadOnDrop(plain_seen.clone());
            tokio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            let guard = ReadOnDrop(own_seen.clone());
            // Spawned inside a request; never joined, so it is still pending at shutdown.
            drop(REQ.sync_scope(5, || {
                ctxflow::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                })
            }));
        }
        tokio::task::yield_now().await;
    });
    // Dropped by this thread, inside an unrelated request's scope.
    REQ.sync_scope(999, || drop(rt));
    assert_eq!(*plain_seen.lock().unwrap(), vec![None; 16]);
    assert_eq!(*own_seen.lock().unwrap(), vec![Some(5); 16]);
}
