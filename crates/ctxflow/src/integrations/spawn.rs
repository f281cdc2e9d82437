//! Spawning through ctxflow with tokio: tasks that inherit the spawner's context.
//!
//! Each function captures the context *at the call*, on the calling thread, exactly as the
//! question of which context a spawned task sees is settled in docs/semantics.md: later
//! changes in the spawner are not seen by the child, and the child's writes never reach the
//! spawner. Variables marked `not_inherited` are left out.

use std::future::Future;
use std::panic::Location;

use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use super::task::Task;
use crate::resource::job::Job;
use crate::resource::tracked::Resource;

/// Runs `spawn`, which hands a ctxflow `Task` to tokio. The `Task` tracks itself; an opted-in
/// runtime (`crate::runtime`), whose spawn hook runs inside this call, leaves it alone.
#[inline]
fn self_tracked<R>(spawn: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "runtime", tokio_unstable))]
    let _flag = super::runtime::SelfTracked::begin();
    spawn()
}

/// `tokio::spawn`, inheriting the current context. Needs a tokio runtime, as `tokio::spawn` does.
///
/// ```
/// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let child = USER.scope("ada", async { ctxflow::spawn(async { USER.get() }) }).await;
/// assert_eq!(child.await.unwrap(), Some("ada"));
/// # }
/// ```
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = Task::new(Resource::spawned("task", Location::caller()), fut);
    self_tracked(|| tokio::spawn(task))
}

/// `tokio::task::spawn_blocking`, inheriting the current context. A job that tokio drops
/// without running it (aborted while it waits in the queue, or spawned once the pool has shut
/// down) is dropped inside that context too, as an aborted task's future is.
///
/// ```
/// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let job = USER.sync_scope("ada", || ctxflow::spawn_blocking(|| USER.get()));
/// assert_eq!(job.await.unwrap(), Some("ada"));
/// # }
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let job = Job::spawned("blocking", Location::caller(), f);
    tokio::task::spawn_blocking(move || job.run())
}

/// `tokio::task::spawn_local`, inheriting the current context. Needs a `LocalSet` or a local
/// runtime, as `spawn_local` does.
#[track_caller]
pub fn spawn_local<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let task = Task::new(Resource::spawned("local", Location::caller()), fut);
    self_tracked(|| tokio::task::spawn_local(task))
}

/// Spawning into a [`JoinSet`] with the current context.
///
/// ```
/// use ctxflow::JoinSetExt;
/// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mut set = tokio::task::JoinSet::new();
/// for i in 0..3 {
///     N.sync_scope(i, || set.spawn_in_context(async move { (i, N.get()) }));
/// }
/// while let Some(r) = set.join_next().await {
///     let (i, seen) = r.unwrap();
///     assert_eq!(seen, Some(i));
/// }
/// # }
/// ```
pub trait JoinSetExt<T> {
    /// `JoinSet::spawn`, inheriting the current context.
    #[track_caller]
    fn spawn_in_context<F>(&mut self, fut: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send;

    /// `JoinSet::spawn_blocking`, inheriting the current context.
    #[track_caller]
    fn spawn_blocking_in_context<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send;

    /// `JoinSet::spawn_local`, inheriting the current context.
    #[track_caller]
    fn spawn_local_in_context<F>(&mut self, fut: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static;
}

impl<T: 'static> JoinSetExt<T> for JoinSet<T> {
    #[track_caller]
    fn spawn_in_context<F>(&mut self, fut: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        let task = Task::new(Resource::spawned("task", Location::caller()), fut);
        self_tracked(|| self.spawn(task))
    }

    #[track_caller]
    fn spawn_blocking_in_context<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        let job = Job::spawned("blocking", Location::caller(), f);
        self.spawn_blocking(move || job.run())
    }

    #[track_caller]
    fn spawn_local_in_context<F>(&mut self, fut: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let task = Task::new(Resource::spawned("local", Location::caller()), fut);
        self_tracked(|| self.spawn_local(task))
    }
}
