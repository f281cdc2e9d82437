//! A value's `Drop` is user code that ctxflow runs wherever a frame holding it is released: when
//! a `set` replaces it, at the end of a scope, when a task ends or is aborted, when an entered
//! snapshot is left, at thread exit. It runs in the context current after the release (never
//! another request's), and what it reads, scopes, sets and enters there works as anywhere else
//! and leaves nothing behind. (docs/semantics.md, "Values released".)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ctxflow::{ContextVar, SetError, Snapshot};

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static OTHER: ContextVar<u64> = ContextVar::new("other");
static NOISY: ContextVar<WritesOnDrop> = ContextVar::new("noisy");

/// What a `Drop` found.
#[derive(Debug, PartialEq)]
struct Seen {
    request: Option<u64>,
    /// A scope of its own held its value.
    scoped: bool,
    /// A `set` of 8 inside that scope: refused, or what a read saw after it.
    set: Result<Option<u64>, SetError>,
    /// `Some(whether the entry was seen)`; `None`: `Snapshot::enter` refused.
    entered: Option<bool>,
    /// None of its writes was left behind.
    clean: bool,
}

/// What a `Drop` finds where nothing refuses it: its writes all hold, and all end with it.
fn clean(request: Option<u64>) -> Seen {
    Seen { request, scoped: true, set: Ok(Some(8)), entered: Some(true), clean: true }
}

type Log = Arc<Mutex<Vec<(u64, Seen)>>>;

/// A value whose `Drop` reads the context, scopes and sets a variable, enters a snapshot, and
/// logs what it found under its tag.
struct WritesOnDrop(Log, u64);

impl Drop for WritesOnDrop {
    fn drop(&mut self) {
        let request = REQUEST.get();
        let (scoped, set) = OTHER.sync_scope(7, || {
            let scoped = OTHER.get() == Some(7);
            (scoped, OTHER.set(8).map(|()| OTHER.get()))
        });
        let entered = OTHER.sync_scope(9, Snapshot::capture).enter().map(|guard| {
            let inside = OTHER.get() == Some(9);
            drop(guard);
            inside
        });
        let clean = OTHER.get().is_none();
        self.0.lock().unwrap().push((self.1, Seen { request, scoped, set, entered, clean }));
    }
}

fn logged(log: &Log) -> Vec<(u64, Seen)> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[test]
fn a_value_replaced_cleared_or_ended_with_its_scope_sees_the_code_around_it() {
    let log = Log::default();
    REQUEST.sync_scope(1, || {
        NOISY.sync_scope(WritesOnDrop(log.clone(), 0), || {
            NOISY.set(WritesOnDrop(log.clone(), 1)).unwrap(); // 0 is released here
            NOISY.clear().unwrap(); // 1 here
            NOISY.set(WritesOnDrop(log.clone(), 2)).unwrap();
        }); // 2 here
        assert_eq!((REQUEST.get(), OTHER.get()), (Some(1), None));
    });
    assert_eq!(logged(&log), [(0, clean(Some(1))), (1, clean(Some(1))), (2, clean(Some(1)))]);
}

#[test]
fn a_value_released_inside_a_read_writes_and_enters_only_inside_itself() {
    let log = Log::default();
    REQUEST.sync_scope(2, || {
        NOISY.sync_scope(WritesOnDrop(log.clone(), 0), || {
            REQUEST.with(|held| {
                // 0 is held by the read's frame, hidden under 1 until the read ends.
                NOISY.set(WritesOnDrop(log.clone(), 1)).unwrap();
                NOISY.set(WritesOnDrop(log.clone(), 2)).unwrap(); // 1 is released here
                assert_eq!(held, Some(&2), "the value the read holds is intact");
            });
        }); // 0 and 2 here
        assert_eq!(OTHER.get(), None);
    });
    let mut logged = logged(&log);
    logged.sort_by_key(|(tag, _)| *tag);
    assert_eq!(logged, [(0, clean(Some(2))), (1, clean(Some(2))), (2, clean(Some(2)))]);
}

#[test]
fn a_root_value_released_at_thread_exit_gets_typed_refusals() {
    let log = Log::default();
    let l = log.clone();
    std::thread::spawn(move || {
        REQUEST.set(3).unwrap();
        NOISY.set(WritesOnDrop(l, 0)).unwrap();
    })
    .join()
    .unwrap();
    // The thread's context storage is going: a scope still works, a `set` is refused with its
    // typed error, and nothing is entered.
    let at_exit = Seen { request: None, set: Err(SetError::ThreadExiting), entered: None, ..clean(None) };
    assert_eq!(logged(&log), [(0, at_exit)]);
}

#[test]
fn a_value_released_when_an_entered_snapshot_is_left_sees_the_code_around_it() {
    let log = Log::default();
    let snap = REQUEST.sync_scope(4, || NOISY.sync_scope(WritesOnDrop(log.clone(), 0), Snapshot::capture));
    REQUEST.sync_scope(5, || {
        let guard = snap.enter().unwrap();
        NOISY.set(WritesOnDrop(log.clone(), 1)).unwrap(); // 0 stays alive: the snapshot holds it
        drop(guard); // 1 is released here
        drop(snap); // 0 here
        assert_eq!((REQUEST.get(), OTHER.get()), (Some(5), None));
    });
    assert_eq!(logged(&log), [(1, clean(Some(5))), (0, clean(Some(5)))]);
}

/// Runs 200 tasks that each set two values, the first replaced by the second; every other task
/// is aborted while parked. Each task's request is its tag over 2.
async fn tasks_releasing_values(log: &Log, spawn: fn(u64, &Log, tokio::sync::oneshot::Sender<()>) -> Task) {
    let mut tasks = Vec::new();
    for n in 0..200u64 {
        let (parked, is_parked) = tokio::sync::oneshot::channel();
        tasks.push((n, spawn(n, log, parked), is_parked));
    }
    for (n, task, is_parked) in tasks {
        if n.is_multiple_of(2) {
            is_parked.await.unwrap();
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
        } else {
            assert_eq!(task.await.unwrap(), n);
        }
    }
}

type Task = tokio::task::JoinHandle<u64>;

/// A task's body: sets its request and two values, checks its reads, parks if `n` is even.
async fn body(n: u64, log: Log, parked: tokio::sync::oneshot::Sender<()>) -> u64 {
    REQUEST.set(n).unwrap();
    NOISY.set(WritesOnDrop(log.clone(), 2 * n)).unwrap();
    tokio::task::yield_now().await;
    NOISY.set(WritesOnDrop(log, 2 * n + 1)).unwrap(); // releases the first, in the task
    tokio::task::yield_now().await;
    assert_eq!((REQUEST.get(), OTHER.get()), (Some(n), None));
    if n.is_multiple_of(2) {
        let _ = parked.send(());
        std::future::pending::<()>().await;
    }
    n
}

/// The first value of each task sees its own request; the second, released as the task ends
/// (or is aborted), sees the context outside the task's writes: `outside`, never another's.
fn check_tasks(log: &Log, outside: Option<u64>) {
    let mut logged = logged(log);
    logged.sort_by_key(|(tag, _)| *tag);
    assert_eq!(logged.len(), 400, "every value was released");
    for (tag, seen) in logged {
        let expected = if tag.is_multiple_of(2) { clean(Some(tag / 2)) } else { clean(outside) };
        assert_eq!(seen, expected, "value {tag}");
    }
}

#[test]
fn values_released_in_many_ctxflow_tasks_and_aborts_see_their_own_task_or_its_caller() {
    let log = Log::default();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(tasks_releasing_values(&log, |n, log, parked| {
        ctxflow::spawn(REQUEST.scope(1_000, body(n, log.clone(), parked)))
    }));
    drop(rt);
    // The task's writes went into its own scope: when it ends, the spawner's capture is left.
    check_tasks(&log, None);
}

#[test]
fn a_blocking_job_aborted_before_it_starts_releases_what_it_holds_inside_its_own_context() {
    let log = Log::default();
    let ran = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).max_blocking_threads(1).build().unwrap();
    rt.block_on(async {
        // The pool's only thread runs this until released, so the jobs spawned next wait in its
        // queue: aborted there, they never start, and the pool drops them when it pops them.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, has_started) = tokio::sync::oneshot::channel();
        let busy = tokio::task::spawn_blocking(move || {
            started.send(()).unwrap();
            released.recv().unwrap();
        });
        has_started.await.unwrap();
        let jobs: Vec<_> = (0..100u64)
            .map(|n| {
                let (value, ran) = (WritesOnDrop(log.clone(), n), ran.clone());
                REQUEST.sync_scope(n, || {
                    ctxflow::spawn_blocking(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                        drop(value);
                    })
                })
            })
            .collect();
        jobs.iter().for_each(|job| job.abort());
        release.send(()).unwrap();
        busy.await.unwrap();
        for job in jobs {
            assert!(job.await.unwrap_err().is_cancelled());
        }
    });
    assert_eq!(ran.load(Ordering::Relaxed), 0, "no aborted job started");
    let mut logged = logged(&log);
    logged.sort_by_key(|(tag, _)| *tag);
    // Released on the pool's thread, outside any scope, yet inside the job's own context.
    assert_eq!(logged, (0..100).map(|n| (n, clean(Some(n)))).collect::<Vec<_>>());
}

#[cfg(all(feature = "runtime", tokio_unstable))]
#[test]
fn values_released_in_many_plain_tasks_on_a_propagating_runtime_see_their_own_task_or_nothing() {
    use ctxflow::runtime::BuilderExt;
    let log = Log::default();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).propagate_context().build().unwrap();
    rt.block_on(REQUEST.scope(1_000, async {
        tasks_releasing_values(&log, |n, log, parked| tokio::spawn(body(n, log.clone(), parked))).await;
        assert_eq!((REQUEST.get(), OTHER.get()), (Some(1_000), None));
    }));
    drop(rt);
    assert_eq!(ctxflow::runtime::tracked_tasks(), 0);
    // Released with the task's entry, on a worker outside any task: the empty context.
    check_tasks(&log, None);
}
