//! OS threads that inherit the spawner's context.
//!
//! `std::thread::spawn` cannot be intercepted, so a plain thread starts with an empty context
//! (as in Python). These wrappers capture the context at the spawn call and run the thread's
//! body inside it, as its own scope: a `set` in the body lasts until the body returns.
//! Node cannot do this (worker threads never inherit); Rust threads share memory, so we can.

use std::io;
use std::panic::Location;
use std::thread::JoinHandle;

use crate::resource::job::Job;

/// `std::thread::spawn`, inheriting the current context.
///
/// ```
/// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
/// let t = USER.sync_scope("ada", || ctxflow::thread::spawn(|| USER.get()));
/// assert_eq!(t.join().unwrap(), Some("ada"));
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let job = Job::spawned("thread", Location::caller(), f);
    std::thread::spawn(move || job.run())
}

/// `std::thread::Builder`, whose threads inherit the current context.
///
/// ```
/// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
/// let t = USER.sync_scope("ada", || {
///     ctxflow::thread::Builder::new().name("worker".into()).spawn(|| USER.get())
/// });
/// assert_eq!(t.unwrap().join().unwrap(), Some("ada"));
/// ```
#[derive(Debug)]
pub struct Builder {
    inner: std::thread::Builder,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder with std's defaults.
    pub fn new() -> Builder {
        Builder { inner: std::thread::Builder::new() }
    }

    /// Names the thread.
    pub fn name(self, name: String) -> Builder {
        Builder { inner: self.inner.name(name) }
    }

    /// Sets the thread's stack size in bytes.
    pub fn stack_size(self, size: usize) -> Builder {
        Builder { inner: self.inner.stack_size(size) }
    }

    /// Spawns the thread with the current context.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let job = Job::spawned("thread", Location::caller(), f);
        self.inner.spawn(move || job.run())
    }

    /// Spawns a scoped thread (see [`std::thread::scope`]) with the current context.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let mut seen = None;
    /// N.sync_scope(3, || std::thread::scope(|s| {
    ///     ctxflow::thread::Builder::new().spawn_scoped(s, || seen = N.get()).unwrap();
    /// }));
    /// assert_eq!(seen, Some(3));
    /// ```
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<std::thread::ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let job = Job::spawned("thread", Location::caller(), f);
        self.inner.spawn_scoped(scope, move || job.run())
    }
}
