//! Snapshots (docs/semantics.md §4): immutable captures of the whole context.

use ctxflow::{ContextVar, FutureContextExt, Snapshot};

static S: ContextVar<u32> = ContextVar::new("s");
static OTHER: ContextVar<u32> = ContextVar::new("other");

#[test]
fn run_restores_the_captured_values_and_then_the_callers() {
    // Node.js test/parallel/test-async-local-storage-snapshot.js
    let snap = S.sync_scope(123, Snapshot::capture);
    let (inside, after) = S.sync_scope(321, || (snap.sync_run(|| S.get()), S.get()));
    assert_eq!((inside, after), (Some(123), Some(321)));
}

#[test]
fn run_replaces_the_whole_context_including_later_variables() {
    // test262 AsyncContext Snapshot/prototype/run/restores-unset-variables.js
    let snap = S.sync_scope(1, Snapshot::capture);
    let new_default: ContextVar<u32> = ContextVar::new("new1").with_default(|| 77);
    let new_plain: ContextVar<u32> = ContextVar::new("new2");
    let seen = ctxflow::sync_scope((OTHER.value(2), new_default.value(3), new_plain.value(4)), || {
        snap.sync_run(|| (S.get(), OTHER.get(), new_default.get(), new_plain.get()))
    });
    assert_eq!(seen, (Some(1), None, Some(77), None));
}

#[test]
fn wrapped_callbacks_run_in_their_capture_in_any_order() {
    // tc39/proposal-async-context tests "wrap out of order", "wrap within nesting contexts" and "…different contexts, 2–6", Node.js test/parallel/test-async-local-storage-bind.js; doc AsyncResource.bind
    let w1 = S.sync_scope(1, || Snapshot::capture().wrap_fn(|x: u32| (x, S.get())));
    let w2 = S.sync_scope(2, || Snapshot::capture().wrap_fn(|x: u32| (x, S.get())));
    S.sync_scope(9, || {
        assert_eq!(w1(10), (10, Some(1)));
        assert_eq!(w2(20), (20, Some(2)));
        assert_eq!(w1(30), (30, Some(1)));
        assert_eq!(S.get(), Some(9));
    });
}

/// Captured by a wrapped callback: records the value of `S` its `Drop` sees.
struct SeesDrop(std::sync::mpsc::Sender<Option<u32>>);

impl Drop for SeesDrop {
    fn drop(&mut self) {
        let _ = self.0.send(S.get());
    }
}

#[test]
fn a_wrapped_callback_drops_what_it_captured_inside_its_capture() {
    let (seen, dropped) = std::sync::mpsc::channel();
    // Never called: dropped by code inside another context.
    let state = SeesDrop(seen.clone());
    let once = S.sync_scope(1, || Snapshot::capture().wrap(move || drop(state)));
    S.sync_scope(9, || drop(once));
    assert_eq!(dropped.try_recv(), Ok(Some(1)));
    // Called: dropped by the call, inside its context, as before.
    let state = SeesDrop(seen.clone());
    let once = S.sync_scope(2, || Snapshot::capture().wrap(move || drop(state)));
    S.sync_scope(9, once);
    assert_eq!(dropped.try_recv(), Ok(Some(2)));
    // Reusable: called, then dropped elsewhere.
    let state = SeesDrop(seen);
    let reused = S.sync_scope(3, || Snapshot::capture().wrap_fn(move |x: u32| (x, state.0.send(None).is_ok())));
    assert_eq!(S.sync_scope(9, || reused(5)), (5, true));
    assert_eq!(dropped.try_recv(), Ok(None), "the call's own message");
    S.sync_scope(9, || drop(reused));
    assert_eq!(dropped.try_recv(), Ok(Some(3)));
    assert_eq!(S.get(), None);
}

#[test]
fn a_panic_in_a_wrapped_callback_restores_the_callers_context() {
    let w = S.sync_scope(1, || Snapshot::capture().wrap(|| panic!("inside")));
    S.sync_scope(2, || {
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(w)).is_err());
        assert_eq!(S.get(), Some(2));
    });
}

#[test]
fn writes_inside_a_run_never_change_the_snapshot() {
    // .NET runtime AsyncLocalTests.cs CaptureAndRestore, CaptureAndRestoreEmptyContext, observed Node.js behaviour (v20, v24), CPython test_context.py test_context_run_4/5/6, test_context_copy_1: immutable, like TC39 and Node's AsyncContextFrame (not Python's Context).
    let snap = S.sync_scope(42, Snapshot::capture);
    snap.sync_run(|| {
        S.set(56).unwrap();
        assert_eq!(S.get(), Some(56));
    });
    assert_eq!(snap.get(&S), Some(42));
    assert_eq!(snap.sync_run(|| S.get()), Some(42));
    assert_eq!(Snapshot::empty().sync_run(|| S.get()), None);
}

#[test]
fn a_value_set_inside_a_run_lives_until_the_run_ends_and_the_snapshot_keeps_its_own() {
    // What `set` makes inside a run is freed when the run ends; what the snapshot holds is not
    // touched.
    static WITNESS: ContextVar<std::sync::Arc<()>> = ContextVar::new("witness");
    let held = std::sync::Arc::new(());
    let made_inside = std::sync::Arc::new(());
    let snap = WITNESS.sync_scope(held.clone(), Snapshot::capture);
    for _ in 0..3 {
        snap.sync_run(|| {
            WITNESS.set(made_inside.clone()).unwrap();
            WITNESS.with(|w| {
                WITNESS.set(std::sync::Arc::new(())).unwrap(); // retires the frame being read
                assert!(std::sync::Arc::ptr_eq(w.unwrap(), &made_inside));
            });
        });
        assert_eq!(std::sync::Arc::strong_count(&made_inside), 1, "freed when the run ended");
        assert_eq!(std::sync::Arc::strong_count(&held), 2, "the snapshot's value, untouched");
    }
    drop(snap);
    assert_eq!(std::sync::Arc::strong_count(&held), 1);
}

#[test]
fn one_snapshot_entered_by_many_threads_at_once_with_writes_inside_stays_isolated_and_leaks_nothing() {
    // The snapshot's frame is shared by every thread that runs it; each thread's writes
    // make frames of its own, freed when its run ends, and no thread sees another's.
    static WITNESS: ContextVar<std::sync::Arc<()>> = ContextVar::new("witness");
    let held = std::sync::Arc::new(());
    let snap = ctxflow::sync_scope((S.value(1), WITNESS.value(held.clone())), Snapshot::capture);
    let runs = if cfg!(miri) { 10 } else { 500 };
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let snap = snap.clone();
            std::thread::spawn(move || {
                for i in 0..runs {
                    let mine = t * 1000 + i;
                    let seen = snap.sync_run(|| {
                        let before = S.get();
                        S.set(mine).unwrap();
                        std::thread::yield_now();
                        let nested = snap.sync_run(|| S.get());
                        (before, S.get(), nested)
                    });
                    assert_eq!(seen, (Some(1), Some(mine), Some(1)), "thread {t}, run {i}");
                    assert_eq!(S.get(), None, "thread {t}: nothing stays behind after the run");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(snap.get(&S), Some(1));
    drop(snap);
    assert_eq!(std::sync::Arc::strong_count(&held), 1, "no frame leaked or freed twice");
}

#[test]
fn a_snapshot_can_be_entered_reentrantly_and_from_many_threads() {
    // CPython test_context.py test_context_run_7; contextvars docs: immutable snapshots have no "already entered" state.
    let snap = S.sync_scope(5, Snapshot::capture);
    assert_eq!(snap.sync_run(|| snap.sync_run(|| S.get())), Some(5));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let snap = snap.clone();
            std::thread::spawn(move || snap.sync_run(|| S.get()))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), Some(5));
    }
}

#[test]
fn snapshot_run_binds_a_future_whoever_polls_it() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let snap = S.sync_scope(7, Snapshot::capture);
    let seen = rt.block_on(S.scope(8, async {
        let a = snap.run(async { S.get() }).await;
        let b = S.sync_scope(9, || async { S.get() }.in_current_context()).await;
        (a, b, S.get())
    }));
    assert_eq!(seen, (Some(7), Some(9), Some(8)));
}

/// A runtime driven from inside `sync_run` swaps its tasks' frames with the snapshot's on every
/// poll: the snapshot's frame must come back untouched, never be dropped by a task, and tasks
/// must see what they captured.
#[cfg(feature = "tokio")]
#[test]
fn a_runtime_driven_inside_a_run_swaps_with_the_snapshots_frame_and_gives_it_back() {
    static WITNESS: ContextVar<std::sync::Arc<()>> = ContextVar::new("witness");
    let held = std::sync::Arc::new(());
    let snap = ctxflow::sync_scope((S.value(3), WITNESS.value(held.clone())), Snapshot::capture);
    #[cfg_attr(not(all(feature = "runtime", tokio_unstable)), allow(unused_mut))]
    let mut builders = vec![tokio::runtime::Builder::new_current_thread()];
    #[cfg(all(feature = "runtime", tokio_unstable))]
    {
        use ctxflow::runtime::BuilderExt;
        let mut automatic = tokio::runtime::Builder::new_current_thread();
        automatic.propagate_context();
        builders.push(automatic);
    }
    for mut builder in builders {
        let rt = builder.enable_all().build().unwrap();
        let seen = snap.sync_run(|| {
            rt.block_on(async {
                let mut tasks = tokio::task::JoinSet::new();
                for n in 0..50u32 {
                    tasks.spawn(ctxflow::spawn(async move {
                        let inherited = S.get();
                        S.set(100 + n).unwrap();
                        tokio::task::yield_now().await;
                        (n, inherited, S.get())
                    }));
                }
                let mut seen = Vec::new();
                while let Some(joined) = tasks.join_next().await {
                    seen.push(joined.unwrap().unwrap());
                }
                (seen, S.get())
            })
        });
        let (tasks, after) = seen;
        assert_eq!(tasks.len(), 50);
        for (n, inherited, own) in tasks {
            assert_eq!((inherited, own), (Some(3), Some(100 + n)), "task {n}");
        }
        assert_eq!(after, Some(3), "the snapshot's frame came back to the driving thread");
        assert_eq!(S.get(), None);
        drop(rt);
        assert_eq!(std::sync::Arc::strong_count(&held), 2, "only the snapshot holds the value");
    }
    drop(snap);
    assert_eq!(std::sync::Arc::strong_count(&held), 1);
}
