//! rayon work sees the context of the code that handed it over, and nothing else.
#![cfg(feature = "rayon")]

use std::sync::atomic::{AtomicUsize, Ordering};

use ctxflow::rayon::{ParallelIteratorExt, ThreadPoolExt};
use ctxflow::{ContextVar, SetError};
use rayon::prelude::*;

static TENANT: ContextVar<u64> = ContextVar::new("tenant");
static SCRATCH: ContextVar<u64> = ContextVar::new("scratch");
static TXN: ContextVar<u64> = ContextVar::new("txn").not_inherited();

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
}

#[test]
fn every_item_of_a_100_000_item_parallel_iterator_sees_the_callers_value() {
    let pool = pool(4);
    let wrong = pool.install(|| {
        TENANT.sync_scope(7, || {
            (0..100_000u64).into_par_iter().in_current_context().filter(|_| TENANT.get() != Some(7)).count()
        })
    });
    assert_eq!(wrong, 0);
}

#[test]
fn concurrent_callers_each_see_their_own_value() {
    let pool = pool(3);
    let callers: Vec<_> = (0..4u64)
        .map(|caller| {
            let pool = &pool;
            move || {
                TENANT.sync_scope(caller, || {
                    pool.install_in_context(|| {
                        let seen: Vec<_> =
                            (0..20_000u64).into_par_iter().in_current_context().map(|_| TENANT.get()).collect();
                        seen.iter().filter(|t| **t != Some(caller)).count()
                    })
                })
            }
        })
        .collect();
    let wrong: usize = std::thread::scope(|s| {
        let handles: Vec<_> = callers.into_iter().map(|c| s.spawn(c)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(wrong, 0);
}

#[test]
fn upstream_and_downstream_closures_of_many_adaptors_see_the_value() {
    TENANT.sync_scope(3, || {
        let v: Vec<u64> = (0..10_000).collect();
        let check = |_: &u64| assert_eq!(TENANT.get(), Some(3));
        // Consumer path: map, filter, fold with identity, reduce.
        let sum = v
            .par_iter()
            .in_current_context()
            .inspect(|x| check(x))
            .map(|x| x + TENANT.get().unwrap())
            .fold(
                || {
                    assert_eq!(TENANT.get(), Some(3));
                    0
                },
                |a, x| a + x,
            )
            .reduce(
                || 0,
                |a, b| {
                    assert_eq!(TENANT.get(), Some(3));
                    a + b
                },
            );
        assert_eq!(sum, v.iter().sum::<u64>() + 3 * 10_000);
        // Indexed adaptors come before it; every closure after it is covered.
        let zipped: Vec<_> =
            v.par_iter().zip(v.par_iter()).enumerate().in_current_context().map(|_| TENANT.get()).collect();
        assert_eq!(zipped.len(), v.len());
        assert!(zipped.iter().all(|t| *t == Some(3)));
        let chunks: Vec<_> = v.par_iter().chunks(7).in_current_context().map(|_| TENANT.get()).collect();
        assert!(chunks.iter().all(|t| *t == Some(3)));
        // Order and length survive the adaptor.
        let same: Vec<u64> = v.par_iter().rev().in_current_context().map(|x| *x).collect();
        assert!(same.iter().rev().eq(v.iter()));
    });
}

#[test]
fn a_set_in_one_item_stays_in_that_item_and_nothing_stays_on_the_workers() {
    let pool = pool(2);
    pool.install(|| {
        SCRATCH.sync_scope(0, || {
            let leaked = AtomicUsize::new(0);
            (0..10_000u64).into_par_iter().in_current_context().for_each(|i| {
                if SCRATCH.get() != Some(0) {
                    leaked.fetch_add(1, Ordering::Relaxed);
                }
                SCRATCH.set(i + 1).unwrap();
            });
            assert_eq!(leaked.load(Ordering::Relaxed), 0);
            assert_eq!(SCRATCH.get(), Some(0));
        })
    });
    let on_workers = pool.broadcast(|_| (TENANT.get(), SCRATCH.get()));
    assert!(on_workers.iter().all(|v| *v == (None, None)), "{on_workers:?}");
}

#[test]
fn nested_parallel_iterators_with_different_values_do_not_mix() {
    let pool = pool(4);
    let wrong = pool.install(|| {
        TENANT.sync_scope(1, || {
            (0..64u64)
                .into_par_iter()
                .in_current_context()
                .map(|outer| {
                    assert_eq!(TENANT.get(), Some(1));
                    TENANT.sync_scope(100 + outer, || {
                        // While this worker waits for the inner items it may steal other outer
                        // items; each must still see its own value.
                        let inner_wrong = (0..500u64)
                            .into_par_iter()
                            .in_current_context()
                            .filter(|_| TENANT.get() != Some(100 + outer))
                            .count();
                        inner_wrong + usize::from(TENANT.get() != Some(100 + outer))
                    })
                })
                .sum::<usize>()
        })
    });
    assert_eq!(wrong, 0);
}

#[test]
fn join_scope_spawn_and_install_inherit() {
    let pool = pool(2);
    TENANT.sync_scope(9, || {
        assert_eq!(ctxflow::rayon::join(|| TENANT.get(), || TENANT.get()), (Some(9), Some(9)));
        let mut seen = [None; 3];
        ctxflow::rayon::scope(|s| {
            let (a, rest) = seen.split_at_mut(1);
            let (b, c) = rest.split_at_mut(1);
            s.spawn(|s| {
                a[0] = TENANT.get();
                s.spawn(|_| b[0] = TENANT.get());
            });
            TENANT.sync_scope(10, || s.spawn(|_| c[0] = TENANT.get()));
        });
        assert_eq!(seen, [Some(9), Some(9), Some(10)]);
        let (tx, rx) = std::sync::mpsc::channel();
        ctxflow::rayon::spawn(move || tx.send(TENANT.get()).unwrap());
        assert_eq!(rx.recv().unwrap(), Some(9));
        assert_eq!(pool.install_in_context(|| TENANT.get()), Some(9));
        let (tx, rx) = std::sync::mpsc::channel();
        pool.spawn_in_context(move || tx.send(TENANT.get()).unwrap());
        assert_eq!(rx.recv().unwrap(), Some(9));
    });
    // Plain rayon, for contrast: nothing is passed on.
    assert_eq!(TENANT.sync_scope(9, || pool.install(|| rayon::join(|| 0, || TENANT.get()).1)), None);
}

#[test]
fn join_halves_are_resources_of_their_own_and_writes_stay_inside() {
    TENANT.sync_scope(4, || {
        let caller = ctxflow::execution_id();
        let ((ta, ia), (tb, ib)) = ctxflow::rayon::join(
            || {
                TENANT.set(40).unwrap();
                (ctxflow::trigger_id(), ctxflow::execution_id())
            },
            || (ctxflow::trigger_id(), ctxflow::execution_id()),
        );
        assert_eq!((ta, tb), (caller, caller));
        assert_ne!(ia, ib);
        assert_eq!(TENANT.get(), Some(4), "a write in a join half stays there");
    });
}

#[test]
fn not_inherited_variables_are_left_out_of_spawned_work_but_not_of_a_bound_iterator() {
    ctxflow::sync_scope((TXN.value(1), TENANT.value(5)), || {
        let from_join = ctxflow::rayon::join(|| (TXN.get(), TENANT.get()), || ()).0;
        assert_eq!(from_join, (None, Some(5)));
        // `in_current_context` binds to the whole context, as it does for a future.
        let from_iter: Vec<_> =
            (0..100).into_par_iter().in_current_context().map(|_| (TXN.get(), TENANT.get())).collect();
        assert!(from_iter.iter().all(|p| *p == (Some(1), Some(5))));
    });
}

/// What a foreign job read, and what its write returned.
type Seen = (Option<u64>, Result<(), SetError>);

/// What a foreign job saw when it ran on a thread that was waiting inside a ctxflow function.
struct Stolen {
    /// Set by the job once it has run.
    read: std::sync::Mutex<Option<Seen>>,
}

impl Stolen {
    fn new() -> std::sync::Arc<Stolen> {
        std::sync::Arc::new(Stolen { read: std::sync::Mutex::new(None) })
    }

    /// Queues, from this (busy) worker, a plain job with no context of its own that reads and
    /// writes TENANT; then keeps this worker busy until the job has run, so that only a
    /// waiting thread can have run it.
    fn queue_and_wait(self: &std::sync::Arc<Self>) {
        let me = self.clone();
        rayon::spawn(move || {
            let read = TENANT.get();
            let wrote = TENANT.set(666);
            *me.read.lock().unwrap() = Some((read, wrote));
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.read.lock().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "the queued job never ran");
            std::hint::spin_loop();
        }
    }
}

/// Runs `wait_in(first, second)` on a worker of a 2-thread pool inside `TENANT = k`, where the
/// function under test runs `first` on this thread and hands `second` to rayon. `first` returns
/// once `second` started on the other worker; `second` queues a foreign job there and spins
/// until it ran, so this thread, waiting for `second`, is the one that runs it. Returns what
/// the foreign job read, what its write returned, and what this thread reads after the wait.
fn steal_while_waiting(
    k: u64,
    wait_in: impl Fn(&(dyn Fn() + Sync), &(dyn Fn() + Sync)) + Sync,
) -> (Option<u64>, Result<(), SetError>, Option<u64>) {
    let pool = pool(2);
    let stolen = Stolen::new();
    let started = std::sync::atomic::AtomicBool::new(false);
    let first = || {
        while !started.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
    };
    let second = || {
        started.store(true, Ordering::Release);
        stolen.queue_and_wait();
    };
    let after = pool.install(|| {
        TENANT.sync_scope(k, || {
            wait_in(&first, &second);
            TENANT.get()
        })
    });
    let (read, wrote) = stolen.read.lock().unwrap().expect("the job ran");
    (read, wrote, after)
}

#[test]
fn a_job_stolen_while_ctxflow_waits_never_sees_nor_writes_the_waiters_context() {
    // The job's write is refused, as at a pool thread's root: taken, it would stay in the
    // wait's empty scope and be the context of the next job stolen during the same wait.
    let refused = Err(SetError::NoScope);
    for k in 0..20 {
        let join = steal_while_waiting(k, |a, b| {
            ctxflow::rayon::join(a, b);
        });
        assert_eq!(join, (None, refused, Some(k)), "join, round {k}: (what the stolen job read, the waiter after)");
        let scope = steal_while_waiting(k, |a, b| {
            ctxflow::rayon::scope(|s| {
                s.spawn(|_| b());
                a();
            });
        });
        assert_eq!(scope, (None, refused, Some(k)), "scope, round {k}");
        let iter = steal_while_waiting(k, |a, b| {
            (0..2u32).into_par_iter().with_max_len(1).in_current_context().for_each(|i| if i == 0 { a() } else { b() });
        });
        assert_eq!(iter, (None, refused, Some(k)), "in_current_context, round {k}");
    }
}

#[test]
fn a_plain_job_cannot_write_a_pool_threads_root_context_for_the_next_job() {
    // One thread, so every job runs on it, one after another, as jobs of different requests
    // do on a busy pool.
    let pool = pool(1);
    let written = pool.install(|| (TENANT.set(1), TENANT.clear()));
    assert_eq!(written, (Err(SetError::NoScope), Err(SetError::NoScope)));
    let (tx, rx) = std::sync::mpsc::channel();
    pool.spawn(move || tx.send(TENANT.set(2)).unwrap());
    assert_eq!(rx.recv().unwrap(), Err(SetError::NoScope));
    assert_eq!(pool.install(|| TENANT.get()), None, "the next job sees nothing");
    // A scope of the job's own takes writes as anywhere else.
    let scoped = pool.install(|| {
        TENANT.sync_scope(3, || {
            TENANT.set(4).unwrap();
            TENANT.get()
        })
    });
    assert_eq!(scoped, Some(4));
    let on_workers = pool.broadcast(|_| TENANT.get());
    assert_eq!(on_workers, [None]);
}
