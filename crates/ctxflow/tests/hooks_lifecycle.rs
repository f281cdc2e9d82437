//! The lifecycle contract: per resource `init`, then `before`/`after` pairs that never nest
//! or interleave, `resolve` during the last poll, `destroy` last and exactly once; for every
//! kind of resource and every way it can end.

mod hooks_support;

use std::sync::{Arc, Mutex};

use ctxflow::AsyncId;
use hooks_support::{Log, TEST, runtime};
use tokio::sync::{Notify, oneshot};

/// What a [`DropProbe`]'s `Drop` saw: `TEST`, and the execution id.
type Seen = Arc<Mutex<Option<(Option<&'static str>, AsyncId)>>>;

/// A value that records what its `Drop` sees.
struct DropProbe(Seen);

impl Drop for DropProbe {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some((TEST.get(), ctxflow::execution_id()));
    }
}

#[test]
fn a_task_gets_init_runs_resolve_in_its_last_poll_and_destroy() {
    let (log, _hook) = Log::register("task");
    let rt = runtime();
    let (spawner, child) = rt.block_on(TEST.scope("task", async {
        let spawner = ctxflow::execution_id();
        let child = ctxflow::spawn(async {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            ctxflow::execution_id()
        });
        (spawner, child.await.unwrap())
    }));
    drop(rt);
    assert_eq!(
        log.of(child),
        ["init", "before", "after", "before", "after", "before", "after", "before", "resolve", "after", "destroy"]
    );
    assert_eq!(log.init_of(child), Some(("task".to_owned(), spawner)));
    log.check();
}

#[test]
fn a_task_aborted_before_its_first_poll_gets_init_and_destroy_only() {
    let (log, _hook) = Log::register("abort-early");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(TEST.scope("abort-early", async {
        // On a current-thread runtime the task cannot run before we yield.
        let handle = ctxflow::spawn(async { unreachable!("never polled") });
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
    }));
    let id = log.only("task");
    assert_eq!(log.of(id), ["init", "destroy"]);
}

#[test]
fn tasks_of_a_dropped_runtime_get_init_and_destroy_only() {
    let (log, _hook) = Log::register("dropped-runtime");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let entered = rt.enter();
    let handle = TEST.sync_scope("dropped-runtime", || ctxflow::spawn(async { 1 }));
    let id = log.only("task");
    assert_eq!(log.of(id), ["init"], "alive while the runtime is");
    drop(entered);
    drop(rt);
    assert_eq!(log.of(id), ["init", "destroy"]);
    let other = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert!(other.block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn a_task_aborted_midway_gets_its_runs_then_destroy() {
    let (log, _hook) = Log::register("abort-midway");
    let rt = runtime();
    rt.block_on(TEST.scope("abort-midway", async {
        let (started_tx, started) = oneshot::channel();
        let handle = ctxflow::spawn(async move {
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await
        });
        started.await.unwrap();
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
    }));
    let id = log.only("task");
    let seq = log.of(id);
    assert_eq!(seq.first(), Some(&"init"));
    assert_eq!(seq.last(), Some(&"destroy"));
    assert!(!seq.contains(&"resolve"), "{seq:?}");
    assert!(log.check()[&id] >= 1);
}

#[test]
fn a_panicking_task_gets_before_after_destroy() {
    let (log, _hook) = Log::register("panicking");
    let rt = runtime();
    rt.block_on(TEST.scope("panicking", async {
        let err = ctxflow::spawn(async { panic!("task panics on purpose") }).await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(TEST.get(), Some("panicking"), "the spawner's context is intact");
    }));
    let id = log.only("task");
    assert_eq!(log.of(id), ["init", "before", "after", "destroy"]);
}

#[test]
fn a_cancelled_future_is_dropped_inside_its_context_and_ids() {
    let seen = Seen::default();
    let (log, _hook) = Log::register("drop-ctx");
    let rt = runtime();
    let probe = DropProbe(seen.clone());
    rt.block_on(TEST.scope("drop-ctx", async {
        let (started_tx, started) = oneshot::channel();
        let handle = ctxflow::spawn(async move {
            let _probe = probe;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await
        });
        started.await.unwrap();
        handle.abort();
        let _ = handle.await;
    }));
    let id = log.only("task");
    assert_eq!(*seen.lock().unwrap(), Some((Some("drop-ctx"), id)));
}

#[test]
fn blocking_jobs_and_threads_get_one_run() {
    let (log, _hook) = Log::register("blocking-thread");
    let rt = runtime();
    let spawner = rt.block_on(TEST.scope("blocking-thread", async {
        let spawner = ctxflow::execution_id();
        let blocking = ctxflow::spawn_blocking(|| (ctxflow::execution_id(), ctxflow::trigger_id())).await.unwrap();
        assert_eq!(blocking.1, spawner);
        spawner
    }));
    let thread =
        TEST.sync_scope("blocking-thread", || ctxflow::thread::spawn(|| (ctxflow::execution_id(), TEST.get())));
    let (thread_id, seen) = thread.join().unwrap();
    assert_eq!(seen, Some("blocking-thread"));
    let built = TEST.sync_scope("blocking-thread", || {
        ctxflow::thread::Builder::new().name("named".into()).spawn(ctxflow::execution_id).unwrap()
    });
    let built_id = built.join().unwrap();
    drop(rt);

    let blocking = log.only("blocking");
    assert_eq!(log.of(blocking), ["init", "before", "after", "destroy"]);
    assert_eq!(log.init_of(blocking), Some(("blocking".to_owned(), spawner)));
    for id in [thread_id, built_id] {
        assert_eq!(log.of(id), ["init", "before", "after", "destroy"]);
        assert_eq!(log.init_of(id), Some(("thread".to_owned(), AsyncId::ROOT)));
    }
    log.check();
}

#[test]
fn a_blocking_job_that_never_ran_gets_init_and_destroy_only_and_is_dropped_inside_its_ids() {
    let seen = Seen::default();
    let (log, _hook) = Log::register("blocking-never-ran");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let handle = rt.handle().clone();
    rt.shutdown_background();
    // The pool is shut down: tokio drops the job without running it.
    let _entered = handle.enter();
    let probe = DropProbe(seen.clone());
    let job = TEST.sync_scope("blocking-never-ran", || {
        ctxflow::spawn_blocking(move || {
            let _probe = probe;
            unreachable!("never runs")
        })
    });
    let id = log.only("blocking");
    assert_eq!(log.of(id), ["init", "destroy"]);
    assert_eq!(*seen.lock().unwrap(), Some((Some("blocking-never-ran"), id)));
    drop(job);
}

#[test]
fn local_tasks_and_join_sets_follow_the_same_contract() {
    use ctxflow::JoinSetExt;
    let (log, _hook) = Log::register("local-joinset");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(
        &rt,
        TEST.scope("local-joinset", async {
            ctxflow::spawn_local(async { tokio::task::yield_now().await }).await.unwrap();
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..3 {
                set.spawn_in_context(async { tokio::task::yield_now().await });
            }
            set.spawn_blocking_in_context(|| ());
            while set.join_next().await.is_some() {}
        }),
    );
    drop(local);
    drop(rt);
    let kinds: Vec<String> = log.ids().into_iter().map(|id| log.init_of(id).unwrap().0).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "local").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "task").count(), 3);
    assert_eq!(kinds.iter().filter(|k| *k == "blocking").count(), 1);
    for runs in log.check().values() {
        assert!(*runs >= 1);
    }
}

#[test]
fn a_task_woken_from_several_threads_never_runs_twice_at_once() {
    let (log, _hook) = Log::register("wakes");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    rt.block_on(TEST.scope("wakes", async {
        let notify = Arc::new(Notify::new());
        let n = notify.clone();
        let waiter = ctxflow::spawn(async move {
            for _ in 0..200 {
                n.notified().await;
            }
        });
        let wakers: Vec<_> = (0..4)
            .map(|_| {
                let n = notify.clone();
                tokio::spawn(async move {
                    for _ in 0..400 {
                        n.notify_one();
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for w in wakers {
            w.await.unwrap();
        }
        while !waiter.is_finished() {
            notify.notify_one();
            tokio::task::yield_now().await;
        }
        waiter.await.unwrap();
    }));
    drop(rt);
    let id = log.only("task");
    assert!(log.check()[&id] >= 2, "several runs, none overlapping");
}
