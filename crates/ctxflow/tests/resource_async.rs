//! `AsyncResource`: Node's embedder API for callback code (Node.js test/parallel/test-async-local-storage-bind.js, test/parallel/test-async-hooks-run-in-async-scope-caught-exception.js, test/async-hooks/test-embedder.api.async-resource.js).

#[path = "hooks_support/mod.rs"]
mod hooks_support;

use std::sync::Arc;

use ctxflow::{AsyncId, AsyncResource, ContextVar};
use hooks_support::{Log, TEST};

static STORE: ContextVar<&'static str> = ContextVar::new("store");

#[test]
fn it_captures_at_construction_not_at_run() {
    // On a fresh plain thread, so that the root-level `set` stays there.
    std::thread::spawn(|| {
        let res = STORE.sync_scope("at-construct", || AsyncResource::new("X"));
        STORE.set("later").unwrap();
        assert_eq!(res.sync_run(|| STORE.get()), Some("at-construct"));
        assert_eq!(STORE.get(), Some("later"));
    })
    .join()
    .unwrap();
}

#[test]
fn writes_inside_sync_run_do_not_persist() {
    let res = STORE.sync_scope("registered", || AsyncResource::new("interval"));
    for tick in ["tick-1", "tick-2", "tick-3"] {
        let seen = res.sync_run(|| {
            let seen = STORE.get();
            STORE.set(tick).unwrap();
            assert_eq!(STORE.get(), Some(tick));
            seen
        });
        assert_eq!(seen, Some("registered"), "every tick sees the registration value");
    }
    assert_eq!(STORE.get(), None, "the caller is unaffected");
    assert_eq!(res.snapshot().get(&STORE), Some("registered"));
}

#[test]
fn a_panic_inside_sync_run_still_emits_after_and_restores() {
    let (log, _hook) = Log::register("resource-panic");
    let res = TEST.sync_scope("resource-panic", || AsyncResource::new("throws"));
    STORE.sync_scope("caller", || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            res.sync_run(|| {
                assert_eq!(STORE.get(), None);
                panic!("callback panics on purpose")
            })
        }));
        assert!(r.is_err());
        assert_eq!(STORE.get(), Some("caller"));
        assert_eq!((ctxflow::execution_id(), ctxflow::trigger_id()), (AsyncId::ROOT, AsyncId::NONE));
    });
    assert_eq!(log.of(res.id()), ["init", "before", "after"]);
}

#[test]
fn wrap_fn_runs_each_call_in_the_captured_context() {
    let (log, _hook) = Log::register("bind");
    let dropped_in = Arc::new(std::sync::Mutex::new(None));
    let state = SeesDrop(dropped_in.clone());
    let greet = TEST.sync_scope("bind", || STORE.sync_scope("bound", || AsyncResource::new("bound-fn"))).wrap_fn(
        move |name: &str| {
            let _held = &state;
            format!("{name} in {}", STORE.get().unwrap_or("nothing"))
        },
    );
    let id = log.only("bound-fn");
    let out = STORE.sync_scope("other", || (greet("a"), greet("b")));
    assert_eq!(out, ("a in bound".to_owned(), "b in bound".to_owned()));
    STORE.sync_scope("the-dropper", || drop(greet));
    // Dropping the closure is not a call: no `before`/`after` for it, and `destroy` comes last.
    assert_eq!(log.of(id), ["init", "before", "after", "before", "after", "destroy"]);
    let seen = *dropped_in.lock().unwrap();
    assert_eq!(seen, Some((Some("bound"), id)), "what the closure captured is dropped in its context and ids");
}

/// The value of `STORE` and the execution id a `Drop` ran with.
type DroppedIn = Option<(Option<&'static str>, AsyncId)>;

/// Captured by a bound closure: records the context and execution id its `Drop` runs in.
struct SeesDrop(Arc<std::sync::Mutex<DroppedIn>>);

impl Drop for SeesDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some((STORE.get(), ctxflow::execution_id()));
    }
}

#[test]
fn destroy_fires_exactly_once_whether_emitted_or_dropped() {
    let (log, _hook) = Log::register("destroy-once");
    TEST.sync_scope("destroy-once", || {
        let mut emitted = AsyncResource::new("emitted");
        emitted.sync_run(|| ());
        emitted.emit_destroy();
        emitted.emit_destroy();
        let id = emitted.id();
        // Still usable: the code runs in its context and ids, with no events after destroy.
        assert_eq!(emitted.sync_run(|| (ctxflow::execution_id(), TEST.get())), (id, Some("destroy-once")));
        drop(emitted);
        assert_eq!(log.of(id), ["init", "before", "after", "destroy"]);

        let dropped = AsyncResource::new("dropped");
        let id = dropped.id();
        drop(dropped);
        assert_eq!(log.of(id), ["init", "destroy"]);
    });
}

#[test]
fn the_embedder_contract() {
    let (log, hook) = Log::register("embedder");
    // An empty kind is passed on as it is: hooks get "" (no error to handle for a name).
    assert_eq!(AsyncResource::new("").kind(), "");
    assert_eq!(AsyncResource::with_trigger(String::new(), AsyncId::ROOT).kind(), "");

    TEST.sync_scope("embedder", || {
        let res = AsyncResource::new("t");
        assert_eq!(res.trigger_id(), ctxflow::execution_id(), "the default trigger is the current execution id");
        assert_ne!(res.id(), res.trigger_id());
        assert_eq!(res.kind(), "t");
        let any = AsyncResource::with_trigger("t2", AsyncId::NONE);
        assert_eq!(any.trigger_id(), AsyncId::NONE, "any id is accepted as a trigger");
        assert_eq!(log.init_of(any.id()), Some(("t2".to_owned(), AsyncId::NONE)));

        res.sync_run(|| ());
        res.sync_run(|| ());
        assert_eq!(log.of(res.id()), ["init", "before", "after", "before", "after"]);

        // After disable, no further events arrive, destroy included.
        hook.disable();
        drop(res);
        assert_eq!(log.of(any.id()), ["init"]);
        drop(any);
    });
    let ids = log.ids();
    assert!(ids.iter().all(|id| !log.of(*id).contains(&"destroy")));
}

#[test]
fn one_resource_run_on_many_threads_at_once() {
    let (log, _hook) = Log::register("shared");
    let res = Arc::new(TEST.sync_scope("shared", || STORE.sync_scope("shared", || AsyncResource::new("pool-job"))));
    std::thread::scope(|s| {
        for _ in 0..8 {
            let res = res.clone();
            s.spawn(move || {
                for _ in 0..200 {
                    let seen = res.sync_run(|| {
                        // Nested runs of the same resource nest their events.
                        let inner = res.sync_run(|| (STORE.get(), ctxflow::execution_id()));
                        (STORE.get(), inner)
                    });
                    assert_eq!(seen, (Some("shared"), (Some("shared"), res.id())));
                    assert_eq!(ctxflow::execution_id(), AsyncId::ROOT);
                }
            });
        }
    });
    let id = res.id();
    drop(Arc::into_inner(res).unwrap());
    let seq = log.of(id);
    assert_eq!(seq.iter().filter(|e| **e == "before").count(), 8 * 200 * 2);
    assert_eq!(seq.iter().filter(|e| **e == "destroy").count(), 1);
    assert_eq!(seq.last(), Some(&"destroy"));
    // Per thread the pairs nest properly (checked by `check`'s per-thread stacks).
    let all = log.all();
    let mut stacks = std::collections::HashMap::<_, Vec<AsyncId>>::new();
    for (i, ev, thread, _) in all {
        match ev.short() {
            "before" => stacks.entry(thread).or_default().push(i),
            "after" => assert_eq!(stacks.entry(thread).or_default().pop(), Some(i)),
            _ => {}
        }
    }
}
