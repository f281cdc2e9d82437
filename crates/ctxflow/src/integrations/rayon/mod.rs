//! rayon work that sees the caller's context.
//!
//! rayon has no per-job hook, so nothing it runs on its pool threads sees the context of the
//! code that handed it the work (rayon#1018). These counterparts of rayon's entry points
//! capture the inheritable context where they are called, as `ctxflow::spawn` and
//! `ctxflow::thread::spawn` do, and run each closure inside it as a tracked resource of kind
//! `"rayon"` (its own [`AsyncId`](crate::AsyncId), hook events, and a `set` that lasts until
//! the closure returns). Parallel iterators get the same through
//! [`ParallelIteratorExt::in_current_context`], which enters the context around each piece of
//! work.
//!
//! A rayon thread that waits (for the other half of a join, a scope's jobs, or an `install` on
//! another pool) runs other jobs meanwhile, whoever queued them. So every function here waits
//! outside any context: the work it hands to rayon carries its own, and a job stolen during the
//! wait sees nothing of the caller's, and its writes are refused ([`SetError::NoScope`], as in
//! a plain rayon job at a pool thread's root): taken, they would reach the next job run there.
//! rayon's own `join`, `scope` and parallel iterators called *inside* a context-carrying job
//! wait with that job's context entered, and rayon has no hook through which ctxflow could see
//! the jobs they steal: such a job reads the waiter's context, and its writes land there. For
//! nested parallelism inside such a job, use these functions (or `in_current_context`) instead
//! of rayon's.
//!
//! Node cannot do this: worker threads never inherit. Rust threads share memory, so a context
//! (an `Arc` to an immutable frame) can simply be handed over.
//!
//! ```
//! use ctxflow::rayon::ParallelIteratorExt;
//! use rayon::prelude::*;
//! static TENANT: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("tenant");
//!
//! TENANT.sync_scope(7, || {
//!     let (a, b) = ctxflow::rayon::join(|| TENANT.get(), || TENANT.get());
//!     assert_eq!((a, b), (Some(7), Some(7)));
//!     let seen: Vec<_> = (0..1000).into_par_iter().in_current_context().map(|_| TENANT.get()).collect();
//!     assert!(seen.iter().all(|t| *t == Some(7)));
//! });
//! ```

mod iter;
mod scope;

use std::panic::Location;

use crate::context::current::WritesRefused;
use crate::context::error::SetError;
use crate::context::scope::sync_run_in;
use crate::resource::job::Job;

/// Runs `wait`, which blocks on rayon work, outside any context (see the module docs). The
/// jobs the thread runs meanwhile are not the waiter's, and one job's write there would be the
/// next one's context: writes into the empty scope of the wait are refused as at a pool
/// thread's root, while each job's own scope takes them as usual.
fn outside_any_context<R>(wait: impl FnOnce() -> R) -> R {
    sync_run_in(None, || {
        let _refused = WritesRefused::enter(SetError::NoScope);
        wait()
    })
}

pub use iter::{InCurrentContext, ParallelIteratorExt};

pub use scope::{Scope, scope};

/// `rayon::spawn`, inheriting the current context.
///
/// ```
/// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
/// let (tx, rx) = std::sync::mpsc::channel();
/// N.sync_scope(5, || ctxflow::rayon::spawn(move || tx.send(N.get()).unwrap()));
/// assert_eq!(rx.recv().unwrap(), Some(5));
/// ```
#[track_caller]
pub fn spawn<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    let job = Job::spawned("rayon", Location::caller(), f);
    rayon::spawn(move || job.run());
}

/// `rayon::join`, both closures inheriting the current context (wherever rayon runs them).
///
/// ```
/// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
/// let both = N.sync_scope(3, || ctxflow::rayon::join(|| N.get(), || N.get()));
/// assert_eq!(both, (Some(3), Some(3)));
/// ```
#[track_caller]
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let at = Location::caller();
    let (a, b) = (Job::spawned("rayon", at, a), Job::spawned("rayon", at, b));
    outside_any_context(|| rayon::join(move || a.run(), move || b.run()))
}

/// Running work on a specific rayon [`ThreadPool`](rayon::ThreadPool) with the current context.
pub trait ThreadPoolExt {
    /// `ThreadPool::install`, with `op` inheriting the current context. (Parallel iterators
    /// inside `op` still need [`in_current_context`](ParallelIteratorExt::in_current_context)
    /// for their closures.)
    ///
    /// ```
    /// use ctxflow::rayon::ThreadPoolExt;
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    /// assert_eq!(N.sync_scope(4, || pool.install_in_context(|| N.get())), Some(4));
    /// ```
    #[track_caller]
    fn install_in_context<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send;

    /// `ThreadPool::spawn`, with `f` inheriting the current context.
    ///
    /// ```
    /// use ctxflow::rayon::ThreadPoolExt;
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// N.sync_scope(6, || pool.spawn_in_context(move || tx.send(N.get()).unwrap()));
    /// assert_eq!(rx.recv().unwrap(), Some(6));
    /// ```
    #[track_caller]
    fn spawn_in_context<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static;
}

impl ThreadPoolExt for rayon::ThreadPool {
    #[track_caller]
    fn install_in_context<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        let job = Job::spawned("rayon", Location::caller(), op);
        outside_any_context(|| self.install(move || job.run()))
    }

    #[track_caller]
    fn spawn_in_context<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let job = Job::spawned("rayon", Location::caller(), f);
        self.spawn(move || job.run());
    }
}
