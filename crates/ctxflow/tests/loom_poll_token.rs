//! loom: the runtime's poll token (`src/runtime/poll_token.rs`), the protocol that lets an
//! opted-in runtime swap a task's context in before each poll and out after it, although tokio
//! may start the next poll of the same task on another worker before the previous poll's
//! after-poll hook has run. Two workers race to poll one task: their polls must take turns,
//! each must see the context captured at the spawn plus every write of the polls before it, and
//! each worker must get its own context back. The after-poll gives the token back without the
//! lock, through the boxed entry, whose task data sits in a loom `UnsafeCell`: an access the
//! token does not order fails the model. Run by `scripts/loom.sh`.
#![cfg(all(loom, feature = "runtime", tokio_unstable))]

mod loom_support;

use std::sync::atomic::{AtomicUsize, Ordering};

use ctxflow::ContextVar;
use ctxflow::runtime::poll_token_model::OneTask;
use loom::sync::Arc;
use loom::thread;

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static STEP: ContextVar<u64> = ContextVar::new("step");
static PROBE: ContextVar<Probe> = ContextVar::new("probe");

/// Counts its drops: the context captured at the spawn must be released exactly once, after the
/// last poll and the termination, whatever their order.
struct Probe(std::sync::Arc<AtomicUsize>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a worker saw: inside each poll (request, step before its write), then after them.
type Seen = (Vec<(Option<u64>, u64)>, Option<u64>, Option<u64>);

/// A worker running inside its own context `own` polls the task `polls` times; each poll
/// writes `STEP`.
fn poll_on_worker(own: u64, task: Arc<OneTask>, polls: usize) -> thread::JoinHandle<Seen> {
    thread::spawn(move || {
        REQUEST.sync_scope(own, || {
            let mut inside = Vec::new();
            for _ in 0..polls {
                let poll = task.before_poll();
                let step = STEP.get().unwrap_or(0);
                inside.push((REQUEST.get(), step));
                STEP.set(step + 1).unwrap();
                task.after_poll(poll);
            }
            (inside, REQUEST.get(), STEP.get())
        })
    })
}

#[test]
fn two_workers_polling_one_task_take_turns_and_keep_every_write() {
    loom_support::check("poll token: two racing polls", || {
        let task = Arc::new(REQUEST.sync_scope(7, OneTask::spawn));
        let a = poll_on_worker(100, task.clone(), 2);
        let b = poll_on_worker(200, task.clone(), 1);
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let mut steps = Vec::new();
        for (request, step) in a.0.iter().chain(&b.0) {
            assert_eq!(*request, Some(7), "each poll sees the spawn-time context");
            steps.push(*step);
        }
        steps.sort();
        assert_eq!(steps, [0, 1, 2], "the polls were ordered and none lost another's write");
        assert_eq!((a.1, a.2), (Some(100), None), "worker a got its own context back");
        assert_eq!((b.1, b.2), (Some(200), None), "worker b got its own context back");
        let poll = task.before_poll();
        assert_eq!((REQUEST.get(), STEP.get()), (Some(7), Some(3)));
        task.after_poll(poll);
        assert_eq!((REQUEST.get(), STEP.get()), (None, None));
    });
}

#[test]
fn termination_racing_a_poll_removes_the_task_once_after_that_poll() {
    loom_support::check("poll token: terminate during a poll", || {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let task = Arc::new(PROBE.sync_scope(Probe(drops.clone()), || REQUEST.sync_scope(7, OneTask::spawn)));
        let worker = poll_on_worker(100, task.clone(), 1);
        let terminator = {
            let task = task.clone();
            thread::spawn(move || task.terminate())
        };
        let (inside, after, step_after) = worker.join().unwrap();
        let request = inside[0].0;
        terminator.join().unwrap();
        match request {
            // Polled before the termination: the poll's write went into the task.
            Some(7) => assert_eq!((after, step_after), (Some(100), None)),
            // Terminated first: the poll ran untracked, in the worker's own scope.
            Some(100) => assert_eq!((after, step_after), (Some(100), Some(1))),
            other => panic!("the poll saw {other:?}"),
        }
        assert!(!task.is_tracked(), "the entry is gone once both the poll and the termination are over");
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the task's context was released exactly once");
        assert_eq!(REQUEST.get(), None);
    });
}
