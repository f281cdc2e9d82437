//! The poll token: the protocol that orders the polls of one task across workers.
//!
//! tokio can run a task again on another worker before the worker that polled it last has run
//! the after-poll hook (the task woke itself during the poll and was stolen in between). The
//! entry therefore records that a poll holds it; a before-poll that finds it held waits,
//! spinning then yielding, until the after-poll of the previous poll has put the context back.
//! The window is a few instructions long, so the wait is short and rare, and every task's polls
//! are ordered as its hooks see them: `before`, `after`, `before`, `after`.
//!
//! The protocol lives here, apart from the table's storage, so that the same code runs under
//! the side table's shard locks and, in a `--cfg loom` build, under a loom mutex in
//! `tests/loom_poll_token.rs`, which explores every interleaving of racing polls, after-polls
//! and terminations ([`model`]). Every function here runs under the lock that guards the entry
//! and runs no user code.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};

use super::shards::Backoff;
use crate::resource::Resource;
use crate::{AsyncId, current, hooks};

static WAITED: AtomicU64 = AtomicU64::new(0);

/// A tracked task's side-table entry.
pub(crate) struct Tracked {
    /// The task's context and ids. While a poll holds the entry, `res.ctx` holds the polling
    /// thread's previous context instead (they were swapped).
    res: Resource,
    /// The poll token: a poll of the task is running (its thread holds the rest in a [`Polled`]).
    polling: bool,
    /// tokio terminated the task during a poll; the end of that poll removes the entry.
    terminated: bool,
}

impl Tracked {
    pub(crate) fn new(res: Resource) -> Tracked {
        Tracked { res, polling: false, terminated: false }
    }
}

/// A poll in progress on a thread.
#[derive(Clone, Copy)]
pub(crate) struct Polled {
    /// The task's id, or `NONE` for a task the table does not track (spawned through ctxflow,
    /// or already gone).
    pub(crate) id: AsyncId,
    /// Whether `before` was dispatched, so `after` must be.
    pub(crate) hooked: bool,
    /// The ids of the code the poll interrupted on this thread.
    prev_ids: (AsyncId, AsyncId),
}

pub(crate) const UNTRACKED: Polled =
    Polled { id: AsyncId::NONE, hooked: false, prev_ids: (AsyncId::NONE, AsyncId::NONE) };

/// The entries of one lock's worth of tasks (a shard of the table; one task in the model).
pub(crate) type Entries<K, S> = HashMap<K, Tracked, S>;

/// Before-poll, under the lock: takes `task`'s token and enters its context and ids on this
/// thread. `None`: a poll on another thread holds the token; release the lock and try again.
pub(crate) fn try_enter<K: Hash + Eq, S: BuildHasher>(entries: &mut Entries<K, S>, task: &K) -> Option<Polled> {
    let Some(t) = entries.get_mut(task) else { return Some(UNTRACKED) };
    if t.polling {
        return None;
    }
    if t.terminated {
        return Some(UNTRACKED);
    }
    let ids = (t.res.id, t.res.trigger);
    t.polling = true;
    let prev_ids = current::enter_detached(&mut t.res.ctx, ids);
    Some(Polled { id: ids.0, hooked: hooks::enabled(), prev_ids })
}

/// Repeats `attempt` (a [`try_enter`] under the lock) until it gets the token.
pub(crate) fn acquire(mut attempt: impl FnMut() -> Option<Polled>) -> Polled {
    let mut backoff = None;
    loop {
        if let Some(polled) = attempt() {
            return polled;
        }
        // The previous poll's after-poll has not run yet (see the module docs).
        backoff
            .get_or_insert_with(|| {
                WAITED.fetch_add(1, Ordering::Relaxed);
                Backoff::default()
            })
            .snooze();
    }
}

/// After-poll, under the lock: saves the context the poll leaves (with its `set`s) back into
/// the entry, restores this thread's own and gives the token back. Returns the entry if the
/// task was terminated during the poll: the caller drops it (`destroy`) outside the lock.
pub(crate) fn leave<K: Hash + Eq, S: BuildHasher>(
    entries: &mut Entries<K, S>,
    task: &K,
    polled: Polled,
) -> Option<Tracked> {
    let t = entries.get_mut(task)?;
    if std::mem::take(&mut t.polling) {
        current::leave_detached(&mut t.res.ctx, polled.prev_ids);
    }
    if t.terminated { entries.remove(task) } else { None }
}

/// What [`terminate`] did with the task's entry.
pub(crate) enum Termination {
    /// Not polled now: here is the entry, to drop outside the lock.
    Removed(#[expect(dead_code, reason = "held only to be dropped (`destroy`) outside the lock")] Tracked),
    /// Inside a poll (tokio terminates a task before its last after-poll): the end of that poll
    /// removes it, so `destroy` comes after `after`.
    Deferred,
    /// The table does not know the task.
    Unknown,
}

/// Task termination, under the lock.
pub(crate) fn terminate<K: Hash + Eq, S: BuildHasher>(entries: &mut Entries<K, S>, task: &K) -> Termination {
    match entries.get_mut(task) {
        Some(t) if t.polling => {
            t.terminated = true;
            Termination::Deferred
        }
        Some(_) => entries.remove(task).map_or(Termination::Unknown, Termination::Removed),
        None => Termination::Unknown,
    }
}

/// How many polls, since the process started, had to wait for the previous poll of the same
/// task to end on another worker (tokio ran the task again before that worker's after-poll
/// hook). A diagnostic: rare, and each wait is a few instructions long.
///
/// ```
/// let before = ctxflow::runtime::waited_polls();
/// assert!(ctxflow::runtime::waited_polls() >= before);
/// ```
pub fn waited_polls() -> u64 {
    WAITED.load(Ordering::Relaxed)
}

/// The poll token of one task behind a loom mutex, for `tests/loom_poll_token.rs`: the same
/// functions the side table calls, with a loom lock in place of a shard lock and the caller
/// holding the [`Polled`] the table keeps in its `POLLING` thread-local.
#[cfg(loom)]
#[doc(hidden)]
pub mod model {
    use std::collections::hash_map::RandomState;

    use super::{Entries, Polled, Tracked};
    use crate::resource::Resource;
    use crate::sync::Mutex;

    /// One tracked task.
    pub struct OneTask {
        entries: Mutex<Entries<u64, RandomState>>,
    }

    /// A poll in progress, returned by [`OneTask::before_poll`].
    pub struct Poll(Polled);

    const TASK: u64 = 1;

    impl OneTask {
        /// `on_task_spawn` on this thread: the task captures the current context.
        #[track_caller]
        pub fn spawn() -> OneTask {
            let mut entries = Entries::default();
            entries.insert(TASK, Tracked::new(Resource::spawned("task", std::panic::Location::caller())));
            OneTask { entries: Mutex::new(entries) }
        }

        /// `on_before_task_poll` on this thread.
        pub fn before_poll(&self) -> Poll {
            Poll(super::acquire(|| super::try_enter(&mut self.entries.lock().unwrap(), &TASK)))
        }

        /// `on_after_task_poll` on this thread.
        pub fn after_poll(&self, poll: Poll) {
            let ended = super::leave(&mut self.entries.lock().unwrap(), &TASK, poll.0);
            drop(ended);
        }

        /// `on_task_terminate` on this thread.
        pub fn terminate(&self) {
            let removed = super::terminate(&mut self.entries.lock().unwrap(), &TASK);
            drop(removed);
        }

        /// Whether the table still tracks the task.
        pub fn is_tracked(&self) -> bool {
            !self.entries.lock().unwrap().is_empty()
        }
    }
}
