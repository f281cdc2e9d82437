//! The poll token: the protocol that orders the polls of one task across workers.
//!
//! tokio can run a task again on another worker before the worker that polled it last has run
//! the after-poll hook (the task woke itself during the poll and was stolen in between). The
//! entry therefore records that a poll holds it; a before-poll that finds it held waits,
//! spinning then yielding, until the after-poll of the previous poll has put the context back.
//! The window is a few instructions long, so the wait is short and rare, and every task's polls
//! are ordered as its hooks see them: `before`, `after`, `before`, `after`.
//!
//! Why a token in an atomic and a boxed entry, rather than the entry's fields under the table's
//! lock: the after-poll hook is half of every poll's cost, and with the token it needs neither
//! the lock nor a lookup. A before-poll takes the token under the shard lock (the lock orders it
//! against spawn and terminate, and finds the entry); the entry is boxed, so its address stays
//! put while other entries come and go, and the [`Token`] the before-poll hands out points at
//! it. Until the token is given back, only its holder touches the entry's task data, and nobody
//! frees the entry: terminate only marks it and leaves the removal to the holder. Giving it back
//! is one atomic read-modify-write, which also tells the holder whether it must remove the
//! entry (terminate came during the poll).
//!
//! The protocol lives here, apart from the table's storage, so that the same code runs under
//! the side table's shard locks and, in a `--cfg loom` build, under a loom mutex in
//! `tests/loom_poll_token.rs`, which explores every interleaving of racing polls, after-polls
//! and terminations ([`model`]). Nothing here runs user code.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use super::shards::Backoff;
use crate::context::current;
use crate::context::owner::Owner;
use crate::resource::hooks;
use crate::resource::ids::{self, AsyncId};
use crate::resource::tracked::Resource;
use crate::sync::AtomicU64;

static WAITED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A poll holds the token.
const POLLING: u64 = 1;
/// tokio terminated the task; whoever sees this with the token free removes the entry.
const TERMINATED: u64 = 2;

/// A tracked task's side-table entry. Boxed in the table, so that a [`Token`] can point at it.
pub(crate) struct Tracked {
    /// [`POLLING`] and [`TERMINATED`]. Set under the table's lock; `POLLING` is cleared by the
    /// token's holder without it.
    state: AtomicU64,
    /// Touched only by the token's holder, and by the entry's drop once it is out of the table.
    task: Cell<Task>,
}

struct Task {
    /// The task's context and ids. While a poll holds the token, `res.ctx` holds the polling
    /// thread's previous context instead (they were swapped).
    res: Resource,
    /// The ids of the code the poll interrupted on its thread.
    prev_ids: (AsyncId, AsyncId),
    /// Whether the poll dispatched `before`, so `after` must be.
    hooked: bool,
    /// Where the poll's `current::push` put the task's frame, for its `pop`.
    entered: current::Pushed,
}

impl Tracked {
    pub(crate) fn new(res: Resource) -> Box<Tracked> {
        let task =
            Task { res, prev_ids: (AsyncId::NONE, AsyncId::NONE), hooked: false, entered: current::Pushed::NONE };
        Box::new(Tracked { state: AtomicU64::new(0), task: Cell::new(task) })
    }
}

/// The right to run one poll of a tracked task: handed out by [`try_enter`], given back by
/// [`Token::leave`] on the same thread. Copyable so a thread-local can hold it; each one is
/// left exactly once, and not used after that.
#[derive(Clone, Copy)]
pub(crate) struct Token(NonNull<Tracked>);

/// The entries of one lock's worth of tasks (a shard of the table; one task in the model).
pub(crate) type Entries<K, S> = HashMap<K, Box<Tracked>, S>;

/// Before-poll, under the lock: takes `task`'s token. `Some(None)`: the table does not track
/// the task (spawned through ctxflow, or gone). `None`: a poll on another thread holds the
/// token; release the lock and try again.
#[inline]
pub(crate) fn try_enter<K: Hash + Eq, S: BuildHasher>(entries: &mut Entries<K, S>, task: &K) -> Option<Option<Token>> {
    let Some(t) = entries.get(task) else { return Some(None) };
    // Acquire: the previous holder's writes to `task` (its release in `leave`).
    let state = t.state.load(Ordering::Acquire);
    if state & POLLING != 0 {
        return None;
    }
    if state & TERMINATED != 0 {
        return Some(None);
    }
    // No holder, and terminate and other before-polls wait for the lock we hold: nobody else
    // writes `state` now, so a plain store takes the token.
    t.state.store(POLLING, Ordering::Relaxed);
    Some(Some(Token(NonNull::from(&**t))))
}

/// Repeats `attempt` (a [`try_enter`] under the lock) until it gets an answer.
#[inline]
pub(crate) fn acquire(mut attempt: impl FnMut() -> Option<Option<Token>>) -> Option<Token> {
    // One call site for `attempt`, so that it inlines here.
    let mut backoff: Option<Backoff> = None;
    loop {
        if let Some(entered) = attempt() {
            return entered;
        }
        // The previous poll's after-poll has not run yet (see the module docs).
        wait(&mut backoff);
    }
}

#[cold]
fn wait(backoff: &mut Option<Backoff>) {
    backoff
        .get_or_insert_with(|| {
            WAITED.fetch_add(1, Ordering::Relaxed);
            Backoff::default()
        })
        .snooze();
}

impl Token {
    /// Runs `f` on the task data of the entry this token holds.
    #[inline]
    fn with_task<R>(self, f: impl FnOnce(&mut Task) -> R) -> R {
        // SAFETY: a token exists only while its thread holds the entry's `POLLING` bit (from
        // `try_enter` to `leave`), and a held entry is neither freed (terminate defers to the
        // holder, which removes it only after `leave`) nor moved (it is boxed).
        let tracked = unsafe { self.0.as_ref() };
        // SAFETY: only the holder of the bit touches `task` while it is set (`try_enter` took it
        // with an acquire load of the last holder's release), and the holder is this thread, so
        // this is the only reference to the task data; it does not outlive `f`, which runs no
        // code that could reach the entry again.
        tracked.task.with_mut(|task| f(unsafe { &mut *task }))
    }

    /// Enters the task's context and ids on this thread. Returns the task's id if `before`
    /// must be dispatched (hooks are registered).
    #[inline]
    pub(crate) fn enter(self, owner: Owner) -> Option<AsyncId> {
        self.with_task(|t| {
            let ids = (t.res.id, t.res.trigger);
            t.entered = current::push(&mut t.res.ctx, owner);
            t.prev_ids = ids::enter(ids);
            t.hooked = hooks::enabled();
            t.hooked.then_some(ids.0)
        })
    }

    /// The task's id if its poll dispatched `before`, so `after` is due.
    #[inline]
    pub(crate) fn hooked(self) -> Option<AsyncId> {
        self.with_task(|t| t.hooked.then_some(t.res.id))
    }

    /// After-poll, without the lock: saves the context the poll leaves (with its `set`s) back
    /// into the entry, restores this thread's own and gives the token back. True if tokio
    /// terminated the task meanwhile: the caller must then [`remove`] the entry.
    #[inline]
    pub(crate) fn leave(self) -> bool {
        self.with_task(|t| {
            current::pop(&mut t.res.ctx, t.entered);
            ids::restore(t.prev_ids);
        });
        // SAFETY: as in `with_task`: the entry lives until this thread gives the bit back here;
        // afterwards the token is gone (consumed) and the entry is not touched through it again.
        let tracked = unsafe { self.0.as_ref() };
        // Release: the next holder sees this poll's writes. Acquire: the terminate that set
        // `TERMINATED`, for the removal that follows.
        tracked.state.fetch_and(!POLLING, Ordering::AcqRel) & TERMINATED != 0
    }
}

/// After a [`Token::leave`] that returned true, under the lock: takes the entry out of the
/// table, for the caller to drop (`destroy`) outside the lock.
pub(crate) fn remove<K: Hash + Eq, S: BuildHasher>(entries: &mut Entries<K, S>, task: &K) -> Option<Box<Tracked>> {
    entries.remove(task)
}

/// What [`terminate`] did with the task's entry.
pub(crate) enum Termination {
    /// Not polled now: here is the entry, to drop outside the lock.
    Removed(#[expect(dead_code, reason = "held only to be dropped (`destroy`) outside the lock")] Box<Tracked>),
    /// Inside a poll (tokio terminates a task before its last after-poll): the holder of the
    /// token removes it when that poll ends, so `destroy` comes after `after`.
    Deferred,
    /// The table does not know the task.
    Unknown,
}

/// Task termination, under the lock.
pub(crate) fn terminate<K: Hash + Eq, S: BuildHasher>(entries: &mut Entries<K, S>, task: &K) -> Termination {
    let Some(t) = entries.get(task) else { return Termination::Unknown };
    // Acquire: the last holder's writes, which the drop of the entry reads. Release: the
    // holder that finds `TERMINATED` removes it.
    if t.state.fetch_or(TERMINATED, Ordering::AcqRel) & POLLING != 0 {
        return Termination::Deferred;
    }
    entries.remove(task).map_or(Termination::Unknown, Termination::Removed)
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

/// `UnsafeCell` with loom's access API, so that a loom build checks every access to the task
/// data against the token's ordering.
#[cfg(not(loom))]
struct Cell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> Cell<T> {
    fn new(value: T) -> Self {
        Cell(std::cell::UnsafeCell::new(value))
    }

    #[inline(always)]
    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
use loom::cell::UnsafeCell as Cell;

/// The poll token of one task behind a loom mutex, for `tests/loom_poll_token.rs`: the same
/// functions the side table calls, with a loom lock in place of a shard lock and the caller
/// holding the [`Token`] the table keeps in its thread-local. (A plain build's unit tests use
/// it with std's lock, for miri: `scripts/miri.sh`.)
#[cfg(any(loom, test))]
#[doc(hidden)]
pub mod model {
    use std::collections::hash_map::RandomState;

    use super::{Entries, Token, Tracked};
    use crate::resource::tracked::Resource;
    use crate::sync::Mutex;

    /// One tracked task.
    pub struct OneTask {
        entries: Mutex<Entries<u64, RandomState>>,
    }

    /// A poll in progress, returned by [`OneTask::before_poll`].
    pub struct Poll(Option<Token>);

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
            let token = super::acquire(|| super::try_enter(&mut self.entries.lock().unwrap(), &TASK));
            if let Some(token) = token {
                token.enter(crate::context::owner::Owner::NOBODY);
            }
            Poll(token)
        }

        /// `on_after_task_poll` on this thread.
        pub fn after_poll(&self, poll: Poll) {
            if let Some(token) = poll.0
                && token.leave()
            {
                let ended = super::remove(&mut self.entries.lock().unwrap(), &TASK);
                drop(ended);
            }
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

/// The token's `unsafe` under miri (`scripts/miri.sh`): racing polls and a termination on real
/// threads, with every write checked. (The exhaustive interleavings are loom's job.)
#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::model::OneTask;
    use crate::ContextVar;

    static STEP: ContextVar<u64> = ContextVar::new("step");

    #[test]
    fn racing_polls_keep_every_write_and_a_termination_during_them_frees_the_entry_once() {
        let task = Arc::new(STEP.sync_scope(0, OneTask::spawn));
        const POLLS: u64 = 20;
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let task = task.clone();
                std::thread::spawn(move || {
                    for _ in 0..POLLS {
                        let poll = task.before_poll();
                        let step = STEP.get().unwrap();
                        STEP.set(step + 1).unwrap();
                        task.after_poll(poll);
                        assert_eq!(STEP.get(), None, "the worker got its own context back");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let poll = task.before_poll();
        assert_eq!(STEP.get(), Some(2 * POLLS), "no poll lost another's write");
        let terminator = {
            let task = task.clone();
            std::thread::spawn(move || task.terminate())
        };
        terminator.join().unwrap();
        assert!(task.is_tracked(), "terminated during a poll: the poll's end removes it");
        task.after_poll(poll);
        assert!(!task.is_tracked());
        let untracked = task.before_poll();
        assert_eq!(STEP.get(), None, "a terminated task is polled untracked");
        task.after_poll(untracked);
    }
}
