//! Panics and cancellation (docs/semantics.md §5): the previous context is back however a
//! scope ends, and drop code runs inside the context it belongs to.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use ctxflow::ContextVar;

static S: ContextVar<&'static str> = ContextVar::new("s");

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn a_panic_inside_sync_scope_restores_and_earlier_spawns_keep_the_value() {
    // observed Node.js behaviour (v20, v24), Node.js doc run; test-async-local-storage-errors.js
    let mut spawned = None;
    let r = catch_unwind(AssertUnwindSafe(|| {
        S.sync_scope("o", || {
            spawned = Some(ctxflow::thread::spawn(|| S.get()));
            panic!("boom");
        })
    }));
    assert!(r.is_err());
    assert_eq!(S.get(), None);
    assert_eq!(spawned.unwrap().join().unwrap(), Some("o"));
    // exit re-enters after a panic too.
    S.sync_scope("R", || {
        assert!(catch_unwind(|| S.sync_exit(|| panic!("in exit"))).is_err());
        assert_eq!(S.get(), Some("R"));
    });
}

#[test]
fn a_panic_during_a_scoped_poll_restores_the_pollers_context() {
    let mut fut = pin!(S.scope("inner", async { panic!("poll panics") }));
    let mut cx = Context::from_waker(Waker::noop());
    S.sync_scope("poller", || {
        let r = catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        assert!(r.is_err());
        assert_eq!(S.get(), Some("poller"));
    });
}

#[test]
fn a_panicking_task_does_not_disturb_its_worker() {
    rt().block_on(S.scope("parent", async {
        let failed = ctxflow::spawn(async {
            S.set("doomed").unwrap();
            panic!("task panics");
        });
        assert!(failed.await.unwrap_err().is_panic());
        let after = tokio::spawn(async { S.get() }).await.unwrap();
        assert_eq!(after, None, "the worker's context is clean after the panic");
        assert_eq!(S.get(), Some("parent"));
    }));
}

/// Records what `S` holds when it is dropped.
struct DropProbe(Arc<Mutex<Vec<Option<&'static str>>>>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(S.get());
    }
}

#[test]
fn dropping_a_scoped_future_runs_its_drop_code_inside_its_context() {
    // observed Node.js behaviour (v20, v24), Node.js test/async-hooks/test-async-local-storage-async-await.js and -async-functions.js; node doc run; test-async-local-storage-errors.js; observed Node.js behaviour (v20, v24): polled once, then abandoned; the poller never sees its value.
    let log = Arc::new(Mutex::new(Vec::new()));
    let probe = DropProbe(log.clone());
    let fut = S.scope("scoped", async move {
        let _probe = probe;
        std::future::pending::<()>().await;
    });
    let mut cx = Context::from_waker(Waker::noop());
    S.sync_scope("poller", || {
        let mut fut = Box::pin(fut);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(S.get(), Some("poller"));
        drop(fut);
        assert_eq!(S.get(), Some("poller"));
    });
    assert_eq!(*log.lock().unwrap(), [Some("scoped")]);
}

#[test]
fn an_unpolled_scope_dropped_still_drops_inside_its_context() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let probe = DropProbe(log.clone());
    let fut = S.scope("never polled", async move {
        let _probe = probe;
    });
    drop(fut);
    assert_eq!(*log.lock().unwrap(), [Some("never polled")]);
}

#[test]
fn an_aborted_task_is_dropped_inside_its_own_context() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let probe = DropProbe(log.clone());
    rt().block_on(S.scope("task ctx", async move {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let task = ctxflow::spawn(async move {
            let _probe = probe;
            S.set("set in task").unwrap();
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        started_rx.await.unwrap();
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(S.get(), Some("task ctx"));
    }));
    assert_eq!(*log.lock().unwrap(), [Some("set in task")], "the cancellation sees the task's own writes");
}

#[test]
fn polling_a_finished_scope_panics_with_a_clear_message() {
    let mut fut = pin!(S.scope("x", async {}));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_ready());
    let err = catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))).unwrap_err();
    assert!(err.downcast_ref::<&str>().unwrap().contains("after completion"));
    assert_eq!(S.get(), None);
}
