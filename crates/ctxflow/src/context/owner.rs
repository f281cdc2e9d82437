//! Whose a scope is: the tokio task that entered it, or no task (code outside any task).
//!
//! Entering a scope is per thread, but a thread can run one task inside another's poll: a
//! `LocalSet` runs its tasks inside the poll of the future that drives it, a current-thread
//! runtime runs its tasks inside whatever scope surrounds `block_on`, and a task's future
//! dropped at shutdown is dropped inside whatever scope surrounds the runtime's drop. Such a
//! task finds a context entered that is not its own. Comparing the running task with the one
//! that entered the innermost scope tells the two apart, so the task sees no context there and
//! cannot write into one. tokio names the running task during each poll and during the drop
//! of its future, which covers every case above.

/// The code a scope was entered by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Owner(#[cfg(feature = "tokio")] Option<tokio::task::Id>);

impl Owner {
    /// No task: the owner of a thread's root frame, and of scopes entered outside any task.
    pub(crate) const NOBODY: Owner = Owner(
        #[cfg(feature = "tokio")]
        None,
    );

    /// The code running now: the current tokio task, if any.
    #[inline(always)]
    pub(crate) fn running() -> Owner {
        #[cfg(feature = "tokio")]
        {
            Owner(tokio::task::try_id())
        }
        #[cfg(not(feature = "tokio"))]
        {
            Owner()
        }
    }

    /// The tokio task `id` (for code that enters a task's scope before tokio names the task).
    #[cfg(all(feature = "runtime", tokio_unstable, not(loom)))]
    pub(crate) fn task(id: tokio::task::Id) -> Owner {
        Owner(Some(id))
    }

    /// The tokio task, if the owner is one.
    #[cfg(all(feature = "runtime", tokio_unstable, not(loom)))]
    pub(crate) fn task_id(self) -> Option<tokio::task::Id> {
        self.0
    }
}
