//! A panic in user code that ctxflow calls (a hook, a value's `Drop`) is contained where
//! ctxflow calls it: ctxflow's per-thread state stays right, no worker dies, nothing aborts.
//! (docs/semantics.md, "Panics in user code"; docs/reliability.md.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ctxflow::hooks::{self, Hook};
use ctxflow::{AsyncId, AsyncResource, ContextVar, Snapshot};

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static PANICKY: ContextVar<PanicsOnDrop> = ContextVar::new("panicky");
static ALWAYS: ContextVar<AlwaysPanicsOnDrop> = ContextVar::new("always");

/// A value whose `Drop` panics even while the thread is already unwinding.
struct AlwaysPanicsOnDrop;

impl Drop for AlwaysPanicsOnDrop {
    fn drop(&mut self) {
        panic!("a value's Drop panicked during an unwind");
    }
}

/// Which test's resources a [`PanicsWithPanickyPayload`] hook panics on (hooks are
/// process-wide, and the tests of this file run in parallel).
static ARM: ContextVar<&'static str> = ContextVar::new("arm");

/// A value whose `Drop` panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("a value's Drop panicked");
        }
    }
}

/// A hook that panics in `before` of the resources created under `ARM == armed`, with a
/// payload whose `Drop` panics too.
struct PanicsWithPanickyPayload {
    kind_seen: AtomicBool,
    armed: &'static str,
    ids: std::sync::Mutex<Vec<AsyncId>>,
}

impl Hook for PanicsWithPanickyPayload {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (id, _kind, _trigger) = (resource.id(), resource.kind(), resource.trigger());
        if ARM.get() == Some(self.armed) {
            self.kind_seen.store(true, Ordering::Relaxed);
            self.ids.lock().unwrap().push(id);
        }
    }
    fn before(&self, id: AsyncId) {
        if self.ids.lock().unwrap().contains(&id) {
            std::panic::panic_any(PanicsOnDrop);
        }
    }
}

#[test]
fn a_hook_panic_whose_payload_panics_on_drop_leaves_context_and_ids_as_they_were() {
    let hook = Arc::new(PanicsWithPanickyPayload {
        kind_seen: AtomicBool::new(false),
        armed: "payload-test",
        ids: Default::default(),
    });
    let handle = hooks::register(Arc::clone(&hook));
    let snapshot = REQUEST.sync_scope(1, Snapshot::capture);
    let resource = ctxflow::sync_scope((REQUEST.value(2), ARM.value("payload-test")), || AsyncResource::new("r"));
    REQUEST.sync_scope(3, || {
        let ids = (ctxflow::execution_id(), ctxflow::trigger_id());
        // Inside a snapshot's run: the hook panics in `before` of the resource's run.
        let seen = snapshot.sync_run(|| resource.sync_run(|| REQUEST.get()));
        assert_eq!(seen, Some(2), "the resource's code ran in its own context");
        assert_eq!(REQUEST.get(), Some(3), "the caller's context is back");
        assert_eq!((ctxflow::execution_id(), ctxflow::trigger_id()), ids, "and its ids");
    });
    assert!(hook.kind_seen.load(Ordering::Relaxed));
    assert!(!handle.is_enabled(), "the panicking hook was disabled");
    assert_eq!(snapshot.get(&REQUEST), Some(1), "the snapshot still holds its own value");
    assert_eq!(REQUEST.get(), None);
}

#[test]
fn a_value_whose_drop_panics_is_contained_during_an_unwind() {
    // Without containment the second panic, during the unwind of the first, aborts.
    let r = std::panic::catch_unwind(|| ALWAYS.sync_scope(AlwaysPanicsOnDrop, || panic!("the scope's own panic")));
    assert!(r.is_err());
    assert_eq!(REQUEST.get(), None);
}

#[test]
fn a_root_value_whose_drop_panics_at_thread_exit_does_not_abort() {
    let joined = std::thread::spawn(|| {
        PANICKY.set(PanicsOnDrop).unwrap();
        REQUEST.set(9).unwrap();
    })
    .join();
    assert!(joined.is_ok(), "the thread's exit is clean; the panic was contained");
}

#[cfg(all(feature = "runtime", tokio_unstable))]
#[test]
#[cfg_attr(miri, ignore = "a tokio runtime under miri is too slow")]
fn a_value_whose_drop_panics_in_a_runtime_hook_does_not_kill_the_worker() {
    use std::sync::atomic::AtomicUsize;

    use ctxflow::runtime::BuilderExt;

    // One worker: if a hook's panic killed it, later tasks would never run (and in a debug
    // build the process would abort).
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).propagate_context().build().unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        for round in 0..20u64 {
            // The task's context is the last holder of the value (the scope that spawned it
            // ends first), so the runtime's hooks release it when the task ends.
            let (go, wait) = tokio::sync::oneshot::channel::<()>();
            let task = PANICKY.sync_scope(PanicsOnDrop, || tokio::spawn(async { wait.await.unwrap() }));
            go.send(()).unwrap();
            task.await.unwrap();
            let finished = Arc::clone(&finished);
            let later = REQUEST.scope(round, async move {
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    finished.fetch_add(1, Ordering::Relaxed);
                    REQUEST.get()
                })
                .await
                .unwrap()
            });
            assert_eq!(later.await, Some(round), "the worker still runs tasks, in their own context");
        }
    });
    drop(rt);
    assert_eq!(finished.load(Ordering::Relaxed), 20);
}

#[cfg(all(feature = "runtime", tokio_unstable))]
#[test]
#[cfg_attr(miri, ignore = "a tokio runtime under miri is too slow")]
fn a_hook_panic_in_the_before_poll_hook_leaves_the_worker_outside_the_task() {
    use ctxflow::runtime::BuilderExt;

    let hook = Arc::new(PanicsWithPanickyPayload {
        kind_seen: AtomicBool::new(false),
        armed: "before-poll",
        ids: Default::default(),
    });
    let rt = tokio::runtime::Builder::new_current_thread().propagate_context().build().unwrap();
    let handle = hooks::register(Arc::clone(&hook));
    let seen = rt.block_on(REQUEST.scope(1, async {
        let inner =
            ctxflow::sync_scope((REQUEST.value(2), ARM.value("before-poll")), || tokio::spawn(async { REQUEST.get() }));
        let child = inner.await.unwrap();
        (child, REQUEST.get(), ctxflow::execution_id())
    }));
    drop(handle);
    assert!(hook.kind_seen.load(Ordering::Relaxed));
    assert_eq!(seen.0, Some(2), "the task ran in its own context");
    assert_eq!(seen.1, Some(1), "and the caller's is back");
    assert_eq!(REQUEST.get(), None, "nothing is left entered on the thread");
    assert_eq!(ctxflow::execution_id(), AsyncId::ROOT);
}

/// The hook's panic report goes to stderr. With stderr a closed pipe, writing it fails, and that
/// must not turn into a panic that escapes (`eprintln!` panics there). Run in a child process of
/// this test binary whose stderr is a pipe with no reader.
#[test]
#[cfg_attr(miri, ignore = "miri cannot spawn processes")]
fn a_hook_panic_reported_to_a_closed_stderr_is_still_contained() {
    const CHILD: &str = "CTXFLOW_CLOSED_STDERR_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let hook = Arc::new(PanicsWithPanickyPayload {
            kind_seen: AtomicBool::new(false),
            armed: "closed-stderr",
            ids: Default::default(),
        });
        let _handle = hooks::register(Arc::clone(&hook));
        let resource = ctxflow::sync_scope((REQUEST.value(5), ARM.value("closed-stderr")), || AsyncResource::new("r"));
        let snapshot = REQUEST.sync_scope(6, Snapshot::capture);
        let seen = snapshot.sync_run(|| resource.sync_run(|| REQUEST.get()));
        assert_eq!((seen, REQUEST.get(), snapshot.get(&REQUEST)), (Some(5), None, Some(6)));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "a_hook_panic_reported_to_a_closed_stderr_is_still_contained", "--nocapture"])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take()); // no reader: the child's writes to stderr fail
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the child failed: {stdout}");
    assert!(stdout.contains("1 passed"), "the child ran the scenario: {stdout}");
}
