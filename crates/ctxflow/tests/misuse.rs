//! Misuse with a documented outcome (`docs/reliability.md`, "Misuse"): nested runtimes,
//! context values dropped on another thread, ctxflow called from a value's `Drop` while the
//! thread is tearing down, and an entry whose guard is forgotten. (Set outside a scope:
//! `set.rs`; hooks that panic or recurse: `hooks_reentrancy.rs`.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::ThreadId;

use ctxflow::{ContextVar, SetError, Snapshot};

static REQUEST: ContextVar<u32> = ContextVar::new("request");
static OTHER: ContextVar<u32> = ContextVar::new("other");
static PROBE: ContextVar<Probe> = ContextVar::new("probe");

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

#[test]
fn block_on_inside_a_task_is_tokios_panic_and_the_context_is_intact_after_it() {
    let outer = multi_thread();
    let inner = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let after = outer.block_on(REQUEST.scope(1, async {
        ctxflow::spawn(async move {
            OTHER.set(2).unwrap();
            let nested = catch_unwind(AssertUnwindSafe(|| inner.block_on(REQUEST.scope(9, async {}))));
            let payload = nested.unwrap_err();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
            let message = message.unwrap_or_default();
            assert!(message.contains("Cannot start a runtime from within a runtime"), "{message}");
            tokio::task::yield_now().await;
            (REQUEST.get(), OTHER.get(), inner)
        })
        .await
        .unwrap()
    }));
    assert_eq!((after.0, after.1), (Some(1), Some(2)), "the task's context and its own write survived");
    drop(after.2);
    assert_eq!(REQUEST.get(), None);
}

#[test]
fn a_nested_runtime_through_block_in_place_sees_and_keeps_the_callers_context() {
    let outer = multi_thread();
    let seen = outer.block_on(REQUEST.scope(1, async {
        ctxflow::spawn(async {
            let inner = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let inside = tokio::task::block_in_place(|| {
                inner.block_on(async {
                    let in_block_on = REQUEST.get();
                    let child = ctxflow::spawn(async { REQUEST.get() }).await.unwrap();
                    let scoped = REQUEST.scope(5, async { REQUEST.get() }).await;
                    (in_block_on, child, scoped)
                })
            });
            tokio::task::block_in_place(move || drop(inner));
            tokio::task::yield_now().await;
            (inside, REQUEST.get())
        })
        .await
        .unwrap()
    }));
    assert_eq!(seen, ((Some(1), Some(1), Some(5)), Some(1)));
}

/// A context value that records, when dropped, where and in which context its `Drop` ran, and
/// calls ctxflow from there.
struct Probe {
    log: Arc<Mutex<Vec<DropSeen>>>,
}

#[derive(Debug, Clone, PartialEq)]
struct DropSeen {
    thread: ThreadId,
    request: Option<u32>,
    scoped: Option<u32>,
    set: Result<(), SetError>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        let seen = DropSeen {
            thread: std::thread::current().id(),
            request: REQUEST.get(),
            scoped: REQUEST.sync_scope(77, || REQUEST.get()),
            set: OTHER.set(5),
        };
        self.log.lock().unwrap().push(seen);
    }
}

fn probe() -> (Probe, Arc<Mutex<Vec<DropSeen>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    (Probe { log: log.clone() }, log)
}

#[test]
fn a_value_dropped_on_another_thread_runs_its_drop_there_without_disturbing_that_threads_context() {
    let (value, log) = probe();
    let (send, receive) = mpsc::channel::<Snapshot>();
    let setter = std::thread::spawn(move || {
        // The last reference to the frame holding the value leaves this thread in a snapshot,
        // sent only once the scope has ended (sent from inside it, the scope's own reference
        // could outlive the dropper's and run the value's Drop here).
        let snapshot = PROBE.sync_scope(value, Snapshot::capture);
        send.send(snapshot).unwrap();
        std::thread::current().id()
    });
    let dropper = std::thread::spawn(move || {
        REQUEST.sync_scope(2, || {
            let snapshot = receive.recv().unwrap();
            drop(snapshot); // the value's Drop runs here, inside this thread's scope
            let after = (REQUEST.get(), OTHER.get());
            (std::thread::current().id(), after)
        })
    });
    let setter = setter.join().unwrap();
    let (dropper, after) = dropper.join().unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "dropped exactly once");
    let seen = &log[0];
    assert_eq!(seen.thread, dropper);
    assert_ne!(seen.thread, setter);
    assert_eq!((seen.request, seen.scoped), (Some(2), Some(77)), "Drop code is code of the dropping thread");
    assert_eq!(seen.set, Ok(()));
    // The Drop's write is a write of the code that dropped it: it lands in that innermost scope.
    assert_eq!(after, (Some(2), Some(5)));
}

#[test]
fn a_value_dropped_inside_one_task_touches_only_that_task_on_a_shared_worker() {
    let (value, log) = probe();
    let rt = multi_thread();
    let snapshot = PROBE.sync_scope(value, Snapshot::capture);
    let results = rt.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        // One task drops the last reference while running inside its own scope; the others run
        // their own requests on the same workers meanwhile.
        tasks.spawn(REQUEST.scope(1, async move {
            tokio::task::yield_now().await;
            drop(snapshot);
            tokio::task::yield_now().await;
            (1, REQUEST.get(), OTHER.get())
        }));
        for n in 2..50 {
            tasks.spawn(REQUEST.scope(n, async move {
                tokio::task::yield_now().await;
                (n, REQUEST.get(), OTHER.get())
            }));
        }
        tasks.join_all().await
    });
    for (n, request, other) in results {
        let expected_other = if n == 1 { Some(5) } else { None };
        assert_eq!((request, other), (Some(n), expected_other), "task {n}");
    }
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].request, log[0].scoped, log[0].set), (Some(1), Some(77), Ok(())));
}

#[test]
fn a_drop_that_calls_ctxflow_during_thread_teardown_reads_no_root_value_and_cannot_set() {
    let (value, log) = probe();
    std::thread::spawn(move || {
        // A plain thread's root context: it lives until the thread's locals are torn down.
        PROBE.set(value).unwrap();
        REQUEST.set(3).unwrap();
    })
    .join()
    .expect("the thread exited cleanly");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "the value was dropped at thread exit");
    assert_eq!(log[0].request, None, "get: None while the thread's context is torn down");
    assert_eq!(log[0].scoped, Some(77), "a scope during teardown still sees its own value");
    assert_eq!(log[0].set, Err(SetError::ThreadExiting));
}

#[test]
fn a_forgotten_entry_stays_until_the_scope_around_it_ends_and_never_reaches_another_task() {
    let snapshot = REQUEST.sync_scope(9, Snapshot::capture);
    // Inside a scope: the scope takes the entry with it when it ends.
    OTHER.sync_scope(1, || {
        std::mem::forget(snapshot.enter().expect("entered"));
        assert_eq!((REQUEST.get(), OTHER.get()), (Some(9), None));
    });
    assert_eq!(REQUEST.get(), None, "gone with the scope");
    // A task's poll is such a scope; a plain task has none, but other tasks never see its entry.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
    let seen = rt.block_on(async {
        let snap = snapshot.clone();
        ctxflow::spawn(async move { std::mem::forget(snap.enter().expect("entered")) }).await.unwrap();
        let snap = snapshot.clone();
        let forgot = tokio::spawn(async move {
            std::mem::forget(snap.enter().expect("entered"));
            tokio::task::yield_now().await;
            REQUEST.get()
        });
        let plain = tokio::spawn(async { REQUEST.get() });
        let scoped = ctxflow::spawn(async { REQUEST.get() });
        let snap = snapshot.clone();
        tokio::task::spawn_blocking(move || std::mem::forget(snap.enter().expect("entered"))).await.unwrap();
        let blocking = tokio::task::spawn_blocking(|| REQUEST.get());
        (forgot.await.unwrap(), plain.await.unwrap(), scoped.await.unwrap(), blocking.await.unwrap())
    });
    assert_eq!(seen, (Some(9), None, None, None), "(the task that forgot it, other tasks and jobs)");
    // Outside any scope on a plain thread, for the rest of the thread, as with a forgotten
    // tracing span guard.
    let on_a_thread = std::thread::spawn(move || {
        std::mem::forget(snapshot.enter().expect("entered"));
        let inside = OTHER.sync_scope(2, || REQUEST.get());
        (inside, REQUEST.get())
    });
    assert_eq!(on_a_thread.join().unwrap(), (Some(9), Some(9)));
}
