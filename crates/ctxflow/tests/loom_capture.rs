//! loom: what spawned work sees. A future bound on the spawning thread, a snapshot and an
//! `AsyncResource` are entered on other threads while the spawner goes on writing: every
//! thread sees the capture, its own writes stay inside its run, and each thread's own context
//! is back afterwards. (The thread-local is per loom thread: `src/sync.rs`.) Run by
//! `scripts/loom.sh`.
#![cfg(loom)]

mod loom_support;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ctxflow::{AsyncResource, ContextVar, FutureContextExt, Snapshot};
use loom::thread;

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static SCRATCH: ContextVar<u64> = ContextVar::new("scratch");

fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    pin!(fut).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_future_bound_on_the_spawning_thread_sees_that_capture_where_it_is_polled() {
    loom_support::check("capture: bound future polled on another thread", || {
        // The worker exists before the capture and gets the bound future through a channel,
        // as a runtime's worker gets a spawned task.
        let (send, receive) = loom::sync::mpsc::channel();
        let worker = thread::spawn(move || {
            let before = REQUEST.get();
            let polled = poll_once(receive.recv().unwrap());
            (before, polled, REQUEST.get(), SCRATCH.get())
        });
        REQUEST.sync_scope(1, || {
            let child = async {
                let seen = REQUEST.get();
                SCRATCH.set(9).unwrap();
                (seen, SCRATCH.get())
            }
            .in_current_context();
            send.send(child).unwrap();
            REQUEST.set(2).unwrap(); // the spawner goes on after the capture
            let (before, polled, after, scratch) = worker.join().unwrap();
            assert_eq!(before, None, "a new thread starts empty");
            assert_eq!(polled, Poll::Ready((Some(1), Some(9))), "the capture, not the later write");
            assert_eq!((after, scratch), (None, None), "the worker's own context is back");
            assert_eq!((REQUEST.get(), SCRATCH.get()), (Some(2), None), "the child's write stayed in it");
        });
        assert_eq!(REQUEST.get(), None);
    });
}

#[test]
fn a_snapshot_entered_on_two_threads_while_its_owner_writes_keeps_them_apart() {
    loom_support::check("capture: snapshot run on two threads", || {
        let snapshot = REQUEST.sync_scope(1, Snapshot::capture);
        let run_on = |own: u64| {
            let snapshot = snapshot.clone();
            thread::spawn(move || {
                snapshot.sync_run(|| {
                    let seen = REQUEST.get();
                    REQUEST.set(own).unwrap();
                    (seen, REQUEST.get())
                })
            })
        };
        let (a, b) = (run_on(10), run_on(20));
        REQUEST.set(3).unwrap();
        assert_eq!(a.join().unwrap(), (Some(1), Some(10)));
        assert_eq!(b.join().unwrap(), (Some(1), Some(20)));
        assert_eq!(snapshot.get(&REQUEST), Some(1), "writes inside runs never change the snapshot");
        assert_eq!(REQUEST.get(), Some(3));
    });
}

#[test]
fn an_async_resource_run_on_two_threads_gives_each_the_capture_and_its_own_ids() {
    loom_support::check("capture: AsyncResource run on two threads", || {
        let resource = std::sync::Arc::new(REQUEST.sync_scope(1, || AsyncResource::new("callback")));
        let run = |resource: std::sync::Arc<AsyncResource>| {
            thread::spawn(move || {
                let inside = resource.sync_run(|| (REQUEST.get(), ctxflow::execution_id()));
                (inside, REQUEST.get(), ctxflow::execution_id())
            })
        };
        let (a, b) = (run(resource.clone()), run(resource.clone()));
        for (inside, after, id_after) in [a.join().unwrap(), b.join().unwrap()] {
            assert_eq!(inside, (Some(1), resource.id()));
            assert_eq!((after, id_after), (None, ctxflow::AsyncId::ROOT));
        }
    });
}
