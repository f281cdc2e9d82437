//! `set` (Node's `enterWith`): where a write lands and how far it reaches
//! (docs/semantics.md §3).

use ctxflow::{ContextVar, SetError, Snapshot};

static S: ContextVar<&'static str> = ContextVar::new("s");
static OTHER: ContextVar<&'static str> = ContextVar::new("other");

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn set_lasts_for_the_rest_of_the_innermost_scope_only() {
    // observed Node.js behaviour (v20, v24): a helper's write is seen by its caller, up to the enclosing scope.
    fn helper() {
        S.set("x").unwrap();
    }
    let inside = S.sync_scope("o", || {
        helper();
        S.get()
    });
    assert_eq!((inside, S.get()), (Some("x"), None));
}

#[test]
fn a_scope_restores_the_whole_previous_context() {
    // Node.js async_context_frame.js run: another variable's write inside a scope does not survive the scope (TC39 rule).
    std::thread::spawn(|| {
        S.sync_scope("A", || OTHER.set("B").unwrap());
        assert_eq!(OTHER.get(), None);
    })
    .join()
    .unwrap();
}

#[test]
fn set_overwrites_and_is_not_a_stack() {
    // Node.js issue #36683
    Snapshot::empty().sync_run(|| {
        S.set("1").unwrap();
        S.set("2").unwrap();
        assert_eq!(S.sync_exit(|| S.get()), None);
        assert_eq!(S.get(), Some("2"));
    });
}

#[test]
fn set_on_a_plain_thread_sets_its_root_context() {
    std::thread::spawn(|| {
        S.set("root").unwrap();
        assert_eq!(S.get(), Some("root"));
        S.sync_scope("inner", || assert_eq!(S.get(), Some("inner")));
        assert_eq!(S.get(), Some("root"));
        // Threads spawned through ctxflow inherit it; plain threads start empty.
        assert_eq!(ctxflow::thread::spawn(|| S.get()).join().unwrap(), Some("root"));
        assert_eq!(std::thread::spawn(|| S.get()).join().unwrap(), None);
    })
    .join()
    .unwrap();
}

#[test]
fn set_inside_a_runtime_without_scope_is_a_typed_error() {
    let rt = rt();
    rt.block_on(async {
        assert_eq!(S.set("leak"), Err(SetError::NoScope));
        let plain = tokio::spawn(async { S.set("leak") }).await.unwrap();
        assert_eq!(plain, Err(SetError::NoScope));
        assert!(SetError::NoScope.to_string().contains("scope"));
        // The refused writes left nothing behind.
        assert_eq!(tokio::spawn(async { S.get() }).await.unwrap(), None);
    });
}

#[test]
fn set_inside_a_task_persists_across_awaits_and_stays_in_the_task() {
    rt().block_on(async {
        let parent = S.scope("parent", async {
            let child = ctxflow::spawn(async {
                S.set("child").unwrap();
                tokio::task::yield_now().await;
                let after_yield = S.get();
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                (after_yield, S.get())
            });
            let seen = child.await.unwrap();
            assert_eq!(seen, (Some("child"), Some("child")));
            S.get()
        });
        assert_eq!(parent.await, Some("parent"));
    });
}

#[test]
fn set_later_in_the_spawner_is_not_seen_by_a_child_spawned_earlier() {
    // CPython test_tasks.py test_context_1: capture happens at the spawn call.
    rt().block_on(S.scope("scope", async {
        S.set("before").unwrap();
        let child = ctxflow::spawn(async {
            tokio::task::yield_now().await;
            S.get()
        });
        S.set("after").unwrap();
        assert_eq!(child.await.unwrap(), Some("before"));
        assert_eq!(S.get(), Some("after"));
    }));
}

#[test]
fn an_inline_awaited_future_shares_its_callers_scope() {
    // .NET runtime AsyncLocalTests.cs AsyncMethodNotifications/observed Node.js behaviour (v20, v24), our choice: a future that is awaited (not spawned) is part of its caller, like
    // Python's `await coro`. Its writes land in the caller's innermost scope. To isolate a
    // callee, give it its own scope.
    async fn callee(value: &'static str) {
        S.set(value).unwrap();
        tokio::task::yield_now().await;
    }
    rt().block_on(S.scope("outer", async {
        let fut = callee("inner");
        assert_eq!(S.get(), Some("outer"), "constructing a future runs none of its code");
        fut.await;
        assert_eq!(S.get(), Some("inner"));
        // Isolated: an empty-change scope (or any scope) bounds the callee's writes.
        ctxflow::scope(Vec::new(), callee("isolated")).await;
        assert_eq!(S.get(), Some("inner"));
    }));
}

#[test]
fn set_inside_with_is_seen_by_later_reads_and_the_borrow_stays_valid() {
    Snapshot::empty().sync_run(|| {
        S.set("first").unwrap();
        S.with(|v| {
            assert_eq!(v, Some(&"first"));
            S.set("second").unwrap();
            OTHER.sync_scope("o", || S.set("third").unwrap());
            assert_eq!(S.get(), Some("second"));
            // `v` still points at the value the read started with.
            assert_eq!(v, Some(&"first"));
        });
        assert_eq!(S.get(), Some("second"));
    });
}

#[test]
fn clear_unsets_for_the_rest_of_the_scope() {
    // Node's `disable()` counterpart: removes the variable from the current scope only.
    S.sync_scope("x", || {
        let spawned_before = ctxflow::thread::spawn(|| S.get());
        S.clear().unwrap();
        assert_eq!(S.get(), None);
        assert_eq!(spawned_before.join().unwrap(), Some("x"));
        S.sync_scope("again", || assert_eq!(S.get(), Some("again")));
    });
}
