//! Hooks that do things while being called: create resources, spawn, register, disable and
//! unregister hooks (Node.js test/parallel/test-async-hooks-enable-recursive.js; test/async-hooks/test-disable-in-init.js, Node.js doc/api/async_hooks.md "Printing in AsyncHook callbacks"), and hooks that panic (Node.js test/async-hooks/test-callback-error.js; doc/api/async_hooks.md "Error handling", decided differently).

mod hooks_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ctxflow::hooks::{self, Hook, HookHandle};
use ctxflow::{AsyncId, AsyncResource};
use hooks_support::{Log, TEST};

/// A hook that calls `f(event, id, kind)` for the resources of one test (kind is "" except
/// for `init`).
struct On<F> {
    tag: &'static str,
    ids: Mutex<Vec<AsyncId>>,
    f: F,
}

fn on<F: Fn(&str, AsyncId, &str) + Send + Sync + 'static>(tag: &'static str, f: F) -> On<F> {
    On { tag, ids: Mutex::new(Vec::new()), f }
}

impl<F: Fn(&str, AsyncId, &str) + Send + Sync + 'static> On<F> {
    fn call(&self, event: &str, id: AsyncId) {
        if self.ids.lock().unwrap().contains(&id) {
            (self.f)(event, id, "");
        }
    }
}

impl<F: Fn(&str, AsyncId, &str) + Send + Sync + 'static> Hook for On<F> {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (id, kind, _trigger) = (resource.id(), resource.kind(), resource.trigger());
        if TEST.get() == Some(self.tag) {
            self.ids.lock().unwrap().push(id);
            (self.f)("init", id, kind);
        }
    }
    fn before(&self, id: AsyncId) {
        self.call("before", id);
    }
    fn after(&self, id: AsyncId) {
        self.call("after", id);
    }
    fn destroy(&self, id: AsyncId) {
        self.call("destroy", id);
    }
}

/// Where hook A puts the hook B it registers from inside its callback.
type LateHook = Arc<Mutex<Option<(Arc<Log>, HookHandle)>>>;

#[test]
fn s69a_a_hook_registered_inside_init_misses_the_current_dispatch_others_see_nested_events() {
    const TAG: &str = "s69a";
    let late: LateHook = Arc::default();
    let nested: Arc<Mutex<Vec<AsyncResource>>> = Arc::default();
    let (late2, nested2) = (late.clone(), nested.clone());
    let _a = hooks::register(on(TAG, move |event, _id, kind| {
        if event == "init" && kind == "outer" {
            *late2.lock().unwrap() = Some(Log::register(TAG));
            nested2.lock().unwrap().push(AsyncResource::new("nested"));
        }
    }));
    let (other, _c) = Log::register(TAG);

    let outer = TEST.sync_scope(TAG, || AsyncResource::new("outer"));
    let (late_log, _late_handle) = late.lock().unwrap().take().expect("A ran");
    let nested_id = nested.lock().unwrap()[0].id();
    assert_eq!(late_log.ids(), [], "B saw neither the in-flight init nor the nested one");
    assert_eq!(other.ids(), [nested_id, outer.id()], "C saw both, the nested one first");
    assert_eq!(other.init_of(nested_id).unwrap().1, AsyncId::ROOT, "created at the top level, inside a hook");

    // After the outermost dispatch, B is live: it sees the next events (a partial lifecycle).
    outer.sync_run(|| ());
    assert_eq!(late_log.all().len(), 0, "B only tracks what it saw created");
    TEST.sync_scope(TAG, || drop(AsyncResource::new("later")));
    assert_eq!(late_log.of(late_log.only("later")), ["init", "destroy"]);
}

#[test]
fn s69b_a_hook_disabled_inside_init_still_gets_the_current_dispatch_and_nested_events() {
    const TAG: &str = "s69b";
    let b_slot: Arc<Mutex<Option<HookHandle>>> = Arc::default();
    let kept: Arc<Mutex<Vec<AsyncResource>>> = Arc::default();
    let (slot, kept2) = (b_slot.clone(), kept.clone());
    let _a = hooks::register(on(TAG, move |event, _id, kind| {
        if event == "init" && kind == "outer" {
            if let Some(b) = slot.lock().unwrap().as_ref() {
                b.disable();
            }
            kept2.lock().unwrap().push(AsyncResource::new("nested"));
        }
    }));
    let (b_log, b) = Log::register(TAG);
    *b_slot.lock().unwrap() = Some(b);

    let outer = TEST.sync_scope(TAG, || AsyncResource::new("outer"));
    assert_eq!(b_log.ids().len(), 2, "B got the in-flight init and the nested one");
    assert!(!b_slot.lock().unwrap().as_ref().unwrap().is_enabled());
    outer.sync_run(|| ());
    drop(outer);
    assert_eq!(b_log.all().len(), 2, "nothing after the outermost dispatch");

    // Unregistering inside a callback is deferred the same way.
    let (c_log, c) = Log::register(TAG);
    *b_slot.lock().unwrap() = None;
    let c_slot = Mutex::new(Some(c));
    let _d = hooks::register(on(TAG, move |event, _, kind| {
        if event == "init" && kind == "outer" {
            drop(c_slot.lock().unwrap().take());
        }
    }));
    let outer = TEST.sync_scope(TAG, || AsyncResource::new("outer"));
    let id = outer.id();
    drop(outer);
    // C comes before D in the list, so it got the in-flight init; nothing after it.
    assert_eq!(c_log.of(id), ["init"]);
}

#[test]
fn a_hook_that_spawns_and_creates_resources_terminates() {
    const TAG: &str = "s71";
    let spawned = Arc::new(AtomicUsize::new(0));
    let s = spawned.clone();
    let _h = hooks::register(on(TAG, move |event, _id, _kind| {
        // Every event of every resource of this test makes two more resources.
        s.fetch_add(1, Ordering::Relaxed);
        drop(ctxflow::spawn(async {}));
        drop(AsyncResource::new("made-by-hook"));
        let _ = event;
    }));
    let (log, _l) = Log::register(TAG);
    let rt = hooks_support::runtime();
    rt.block_on(TEST.scope(TAG, async {
        ctxflow::spawn(async { tokio::task::yield_now().await }).await.unwrap();
    }));
    drop(rt);
    // The hook ran for its own task's events only (init, two polls, destroy); what it made
    // inside its callbacks did not call it back, and every resource still got a valid
    // lifecycle for the other hook. What it made in `destroy` runs outside the task's context
    // (destroy comes after the task left it), so the other hook does not count those as ours.
    assert_eq!(spawned.load(Ordering::Relaxed), 6);
    assert_eq!(log.ids().len(), 1 + 2 * 5);
    log.check();
}

#[test]
fn a_hook_that_panics_is_disabled_and_everything_else_goes_on() {
    const TAG: &str = "panicking-hook";
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let bad = hooks::register(on(TAG, move |event, _, _| {
        c.fetch_add(1, Ordering::Relaxed);
        if event == "before" {
            panic!("hook panics on purpose");
        }
    }));
    let (log, _good) = Log::register(TAG);
    static STORE: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("store");

    let res = TEST.sync_scope(TAG, || STORE.sync_scope(7, || AsyncResource::new("victim")));
    let seen = STORE.sync_scope(1, || {
        let seen = res.sync_run(|| (STORE.get(), ctxflow::execution_id()));
        assert_eq!(STORE.get(), Some(1), "the caller's context is back");
        seen
    });
    assert_eq!(seen, (Some(7), res.id()));
    assert_eq!((ctxflow::execution_id(), ctxflow::trigger_id()), (AsyncId::ROOT, AsyncId::NONE));
    assert!(!bad.is_enabled());
    assert_eq!(calls.load(Ordering::Relaxed), 2, "init, then the before that panicked");
    res.sync_run(|| ());
    assert_eq!(calls.load(Ordering::Relaxed), 2, "never called again");
    assert_eq!(log.of(res.id()), ["init", "before", "after", "before", "after"], "the other hook got everything");

    // Re-enabled on request.
    bad.enable();
    assert!(bad.is_enabled());
    drop(res);
    assert_eq!(calls.load(Ordering::Relaxed), 3, "destroy");
}

#[test]
fn a_hook_panicking_while_a_task_panics_does_not_abort() {
    const TAG: &str = "double-panic";
    let _bad = hooks::register(on(TAG, |event, _, _| {
        if event != "init" {
            panic!("hook panics on purpose in {event}");
        }
    }));
    let (log, _good) = Log::register(TAG);
    let rt = hooks_support::runtime();
    let err = rt.block_on(TEST.scope(TAG, async { ctxflow::spawn(async { panic!("task panics on purpose") }).await }));
    assert!(err.unwrap_err().is_panic());
    drop(rt);
    assert_eq!(log.of(log.only("task")), ["init", "before", "after", "destroy"]);
}

#[test]
fn a_hook_panicking_in_init_does_not_break_spawning() {
    const TAG: &str = "init-panic";
    let _bad = hooks::register(on(TAG, |_, _, _| panic!("hook panics on purpose in init")));
    let rt = hooks_support::runtime();
    let seen = rt.block_on(TEST.scope(TAG, async { ctxflow::spawn(async { TEST.get() }).await.unwrap() }));
    assert_eq!(seen, Some(TAG));
}

#[test]
fn a_hook_panicking_in_after_leaves_the_thread_as_it_found_it() {
    // Leaving a task's poll fires `after` first, then restores the thread's context and ids:
    // a hook's panic there must not skip the restoring.
    const TAG: &str = "after-panics";
    static PANICKED: AtomicUsize = AtomicUsize::new(0);
    let bad = hooks::register(on(TAG, |event, _, _| {
        if event == "after" {
            PANICKED.fetch_add(1, Ordering::Relaxed);
            panic!("hook panics on purpose in after");
        }
    }));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let outside = rt.block_on(async {
        // Spawned with the test's value, polled on this thread once the scope is left.
        let child = TEST.sync_scope(TAG, || ctxflow::spawn(async { (TEST.get(), ctxflow::execution_id()) }));
        let (inside, id) = child.await.unwrap();
        assert_eq!(inside, Some(TAG));
        assert_ne!(id, AsyncId::ROOT);
        // The task's poll, ending in the panicking `after`, ran on this thread.
        (TEST.get(), ctxflow::execution_id())
    });
    assert_eq!(PANICKED.load(Ordering::Relaxed), 1, "the hook panicked once, then was disabled");
    assert!(!bad.is_enabled());
    assert_eq!(outside, (None, AsyncId::ROOT));
    assert_eq!(rt.block_on(async { (TEST.get(), ctxflow::execution_id()) }), (None, AsyncId::ROOT));
}
