//! Why a write to the context was refused.

use std::fmt;

/// Why [`ContextVar::set`](crate::ContextVar::set) did not change the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetError {
    /// `set` was called outside any ctxflow scope on a thread that runs one piece of work after
    /// another: inside an async runtime (a task spawned with plain `tokio::spawn`, a `block_on`
    /// body, a plain `spawn_blocking` job) or, with feature `rayon`, in a rayon job that has no
    /// context of its own (a plain `rayon::spawn` or `join`, or a job that a pool thread runs
    /// while it waits inside a `ctxflow::rayon` function). Setting there would leak the value
    /// into whatever the thread runs next, so ctxflow refuses. Wrap the code in `VAR.scope(..)`
    /// or `Snapshot::run`, or hand it over with `ctxflow::spawn` or `ctxflow::rayon`.
    NoScope,
    /// The thread is shutting down and its context storage is gone.
    ThreadExiting,
    /// The innermost scope on this thread belongs to another task: this task runs inside that
    /// task's poll (a `LocalSet`'s task, or a task a current-thread runtime runs inside a scope)
    /// and has no scope of its own. A task never writes into a scope it does not own. Wrap the
    /// code in a scope, or spawn it with `ctxflow::spawn_local`.
    NotOwner,
    /// Called inside a hook callback, on the context of the code the hook reports on, which is
    /// not the hook's to change. Values a hook needs can live in the hook itself; a scope
    /// entered inside the callback can be written.
    InHook,
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::NoScope => f.write_str(
                "ContextVar::set called outside any ctxflow scope on an async runtime's or a rayon \
                 pool's thread, where the value would reach the next task or job; wrap the code in \
                 a scope (VAR.scope, Snapshot::run) or spawn it with ctxflow::spawn or ctxflow::rayon",
            ),
            SetError::ThreadExiting => f.write_str("ContextVar::set called while the thread is exiting"),
            SetError::NotOwner => f.write_str(
                "ContextVar::set called in a task that runs inside another task's scope (a LocalSet's \
                 task, say); wrap the code in a scope of its own or spawn it with ctxflow::spawn_local",
            ),
            SetError::InHook => f.write_str(
                "ContextVar::set called inside a hook callback, on the context of the code the hook \
                 reports on; enter a scope inside the callback to change values there",
            ),
        }
    }
}

impl std::error::Error for SetError {}
