//! `ContextVar::shadowed_by`: while the source has a value, every read of the current context
//! sees it; the context keeps its own value, writes included, for when the source has none,
//! and snapshots and spawned tasks carry the context's value, not the source's.

use std::cell::Cell;
use std::sync::Arc;

use ctxflow::{ContextVar, Snapshot};

thread_local! {
    static SOURCE: Cell<Option<u32>> = const { Cell::new(None) };
}

static N: ContextVar<u32> = ContextVar::new("n").shadowed_by(|| SOURCE.get()).with_default(|| 100);

fn with_source<R>(value: u32, f: impl FnOnce() -> R) -> R {
    SOURCE.set(Some(value));
    let out = f();
    SOURCE.set(None);
    out
}

#[test]
fn every_read_sees_the_source_while_it_has_a_value() {
    N.sync_scope(1, || {
        with_source(7, || {
            assert_eq!(N.get(), Some(7));
            assert_eq!(N.with(|n| n.copied()), Some(7));
            assert_eq!(N.with_unshadowed(|n| n.copied()), Some(1), "the context's own value");
            assert_eq!(N.get_arc().as_deref(), Some(&7));
            assert!(N.is_set());
        });
        assert_eq!(N.get(), Some(1));
    });
    with_source(7, || assert!(N.is_set(), "a source's value counts as set, even outside a scope"));
    assert!(!N.is_set());
    assert_eq!(N.get(), Some(100), "then the default");
}

#[test]
fn writes_go_to_the_context_and_show_once_the_source_has_none() {
    N.sync_scope(1, || {
        with_source(7, || {
            N.set(2).unwrap();
            assert_eq!(N.get(), Some(7));
        });
        assert_eq!(N.get(), Some(2));
    });
}

#[test]
fn snapshots_and_spawned_tasks_carry_the_contexts_value() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (snapshot, in_task) = rt.block_on(N.scope(1, async {
        let snapshot = with_source(7, Snapshot::capture);
        // The task runs on this thread, after the source was cleared.
        let task = with_source(7, || ctxflow::spawn(async { N.get() }));
        (snapshot, task.await.unwrap())
    }));
    assert_eq!(snapshot.get(&N), Some(1));
    assert_eq!(with_source(7, || snapshot.get(&N)), Some(1), "a snapshot's value is its own");
    assert_eq!(snapshot.sync_run(|| N.get()), Some(1));
    assert_eq!(in_task, Some(1));
    let shared = Arc::new(snapshot);
    assert_eq!(with_source(8, || shared.sync_run(|| N.get())), Some(8), "code run in it still reads the source");
}
