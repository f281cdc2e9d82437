//! The side table of an opted-in runtime: task id -> the task's context, ids and poll token.
//!
//! tokio's hooks hand over nothing but a task id, so the context lives here between polls.
//! The table is sharded (no lock shared by all workers on the poll path; a single
//! mutex-guarded map made every worker wait on one lock), keyed by tokio's task id with a hash that
//! keeps it in spawn order (see `shards.rs` and `task_hash.rs`).
//!
//! Each entry carries a poll token that orders the task's polls across workers: see
//! `poll_token.rs`, which holds that protocol (and is model-checked with loom).
//!
//! Nothing that can run user code (hooks, dropping a context's values) runs under a shard lock:
//! hooks may spawn, and a spawn takes a shard lock. And nothing of it may panic out of a tokio
//! hook, which would take the worker down: a context dropped here goes through
//! `contain::drop_quietly`.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::task::Id;

use super::SelfTracked;
use super::poll_token::{self, Termination, Token, Tracked};
use super::shards::Shards;
use super::spawn_sites::SpawnSites;
use crate::contain;
use crate::context::owner::Owner;
use crate::resource::hooks;
use crate::resource::ids;
use crate::resource::tracked::Resource;

/// One opted-in runtime's tracked tasks.
pub(crate) struct TaskTable {
    tasks: Shards<Box<Tracked>>,
    /// Sites whose tasks start with an empty context.
    empty_at: SpawnSites,
}

/// Every table, for [`tracked_tasks`]. Locked only when a runtime is built and by that function.
static TABLES: Mutex<Vec<Weak<TaskTable>>> = Mutex::new(Vec::new());

/// A tracked poll running on this thread.
#[derive(Clone, Copy)]
struct Poll {
    task: Id,
    token: Token,
    /// Another tracked poll runs around this one (in `OUTER`).
    nested: bool,
}

thread_local! {
    /// The innermost tracked poll running on this thread. A poll inside another poll on one
    /// thread is rare (a runtime driven from inside a task), so the common case is this one
    /// cell, which has no destructor and therefore no registration or state check.
    static INNERMOST: Cell<Option<Poll>> = const { Cell::new(None) };
    /// The tracked polls around the innermost one, innermost last.
    static OUTER: RefCell<Vec<Poll>> = const { RefCell::new(Vec::new()) };
    /// The last id whose termination this thread saw without having seen its spawn. At
    /// shutdown tokio terminates a task being spawned *before* running the spawn hook, on the
    /// spawning thread, with nothing in between; that hook must then not track it.
    static ENDED_UNANNOUNCED: Cell<Option<Id>> = const { Cell::new(None) };
}

fn tables() -> MutexGuard<'static, Vec<Weak<TaskTable>>> {
    // Every critical section is a push, a retain or a read: a poisoned list is still valid.
    TABLES.lock().unwrap_or_else(|p| p.into_inner())
}

impl TaskTable {
    pub(crate) fn new(empty_at: SpawnSites) -> Arc<TaskTable> {
        let table = Arc::new(TaskTable { tasks: Shards::new(), empty_at });
        let mut all = tables();
        all.retain(|t| t.strong_count() > 0);
        all.push(Arc::downgrade(&table));
        table
    }

    /// `on_task_spawn`: runs on the spawning thread, inside the spawner's poll, before the task
    /// can be scheduled; so the current context is the spawner's.
    pub(crate) fn spawned(&self, task: Id, at: &'static Location<'static>) {
        if SelfTracked::active() {
            return;
        }
        let ended_already = ENDED_UNANNOUNCED.try_with(|e| e.take() == Some(task)).unwrap_or(false);
        if ended_already {
            return;
        }
        let resource = if self.empty_at.starts_empty(at) {
            Resource::new("task", None, ids::current().0, at)
        } else {
            Resource::spawned("task", at)
        };
        let tracked = Tracked::new(resource);
        let replaced = self.tasks.with(task, |m| m.insert(task, tracked));
        // Ids are never reused while tracked; dropped outside the lock anyway.
        contain::drop_quietly("a task's context", replaced);
    }

    /// `on_before_task_poll`: enters the task's context and ids, then fires `before`.
    #[inline]
    pub(crate) fn before_poll(&self, task: Id) {
        let Some(token) = poll_token::acquire(|| self.tasks.with(task, |m| poll_token::try_enter(m, &task))) else {
            return;
        };
        let outer = INNERMOST.with(Cell::get);
        if let Some(outer) = outer
            && OUTER.try_with(|o| o.borrow_mut().push(outer)).is_err()
        {
            // This thread is being torn down: poll the task without its context rather than
            // lose track of the poll around it (entered and left at once, so the token and this
            // thread's context are back as they were).
            let _ = token.enter(Owner::task(task));
            self.release(task, token);
            return;
        }
        INNERMOST.with(|p| p.set(Some(Poll { task, token, nested: outer.is_some() })));
        if let Some(id) = token.enter(Owner::task(task)) {
            hooks::before(id);
        }
    }

    /// `on_after_task_poll`: fires `after` inside the task's context, saves the context (with
    /// any `set` made in the poll) back into the entry and restores the thread's own.
    #[inline]
    pub(crate) fn after_poll(&self, task: Id) {
        let Some(poll) = INNERMOST.with(Cell::get) else { return };
        if poll.task != task {
            return; // an untracked task, polled inside a tracked one
        }
        let outer = if poll.nested { OUTER.try_with(|o| o.borrow_mut().pop()).ok().flatten() } else { None };
        INNERMOST.with(|p| p.set(outer));
        if let Some(id) = poll.token.hooked() {
            hooks::after(id);
        }
        self.release(task, poll.token);
    }

    /// Gives `task`'s token back; removes the entry if the task was terminated meanwhile.
    fn release(&self, task: Id, token: Token) {
        if token.leave() {
            let ended = self.tasks.with(task, |m| poll_token::remove(m, &task));
            // `destroy`, after `after`, outside the lock.
            contain::drop_quietly("a task's context", ended);
        }
    }

    /// `on_task_terminate`: the task is gone (completed, cancelled, or shut down). Also called
    /// for ids never announced (worker threads, blocking tasks), which are not in the table.
    pub(crate) fn terminated(&self, task: Id) {
        let ended = self.tasks.with(task, |m| poll_token::terminate(m, &task));
        if let Termination::Unknown = ended {
            let _ = ENDED_UNANNOUNCED.try_with(|e| e.set(Some(task)));
        }
        // `destroy`, outside the lock.
        contain::drop_quietly("a task's context", ended);
    }
}

/// How many tasks the opted-in runtimes of this process track right now: spawned, not yet
/// terminated. After a runtime has shut down, none of its tasks is left.
///
/// ```
/// use ctxflow::runtime::BuilderExt;
/// let rt = tokio::runtime::Builder::new_current_thread().propagate_context().build().unwrap();
/// let (tx, rx) = std::sync::mpsc::channel::<usize>();
/// rt.block_on(async move {
///     let pending = tokio::spawn(std::future::pending::<()>());
///     tx.send(ctxflow::runtime::tracked_tasks()).unwrap();
///     pending.abort();
/// });
/// assert!(rx.recv().unwrap() >= 1);
/// drop(rt);
/// ```
pub fn tracked_tasks() -> usize {
    // Upgraded under the lock, used and dropped outside it: the last reference to a table may
    // drop tasks' contexts, whose values' `Drop` code could call back in here.
    let live: Vec<Arc<TaskTable>> = tables().iter().filter_map(Weak::upgrade).collect();
    live.iter().map(|t| t.tasks.len()).sum()
}
