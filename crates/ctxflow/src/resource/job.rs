//! `Job`: a closure spawned as a tracked resource (a blocking job, a thread, a rayon job),
//! run inside the resource's context and ids, and dropped inside them if it never runs.
//!
//! A pool may drop a job it has not started: tokio's blocking pool drops a job aborted while it
//! waits in the queue, and one spawned once the pool has shut down. What the closure captured
//! then belongs to the spawner's request, and its `Drop` is that request's code, as a cancelled
//! task's future is (`Task`): it sees the job's context, never that of the pool thread or of
//! whoever shut the pool down.
//!
//! The same rule as `context::bound::Bound` (a callback bound to a snapshot or an
//! `AsyncResource`), held apart because of how each enters its context: a bound callback may be
//! called through a shared reference, so it enters a counted copy of its frame, where a job runs
//! once and moves its resource's frame in (`Resource::enter`, as a task's poll does).

use std::panic::Location;

use super::tracked::Resource;

/// A closure and the resource it runs as.
pub(crate) struct Job<F> {
    res: Resource,
    /// `None` once [`Job::run`] took it, or while the job is dropped.
    f: Option<F>,
}

impl<F> Job<F> {
    /// `f`, spawned here (see [`Resource::spawned`]) as a resource of `kind`.
    pub(crate) fn spawned(kind: &str, at: &'static Location<'static>, f: F) -> Self {
        Job { res: Resource::spawned(kind, at), f: Some(f) }
    }

    /// Runs the closure as the resource's code (`before`, the call, `after`); `destroy` follows
    /// when the job is dropped, on return or on unwind.
    pub(crate) fn run<R>(self) -> R
    where
        F: FnOnce() -> R,
    {
        self.run_with(|f| f())
    }

    /// [`run`](Self::run) for a closure that takes what its pool passes it (a rayon scope):
    /// `call` hands it over.
    pub(crate) fn run_with<R>(mut self, call: impl FnOnce(F) -> R) -> R {
        let Some(f) = self.f.take() else {
            unreachable!("the closure is taken only by this call, which consumes the job, and by drop")
        };
        let _running = self.res.enter();
        call(f)
    }
}

impl<F> Drop for Job<F> {
    fn drop(&mut self) {
        if let Some(f) = self.f.take() {
            // Not a run of the job's code: no `before`/`after`, as for a cancelled task.
            let _running = self.res.enter_silently();
            drop(f);
        }
    }
}
