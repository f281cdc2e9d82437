//! The side table of an opted-in runtime: task id -> the task's context, ids and poll token.
//!
//! tokio's hooks hand over nothing but a task id, so the context lives here between polls.
//! The table is sharded (no lock shared by all workers on the poll path; a single
//! mutex-guarded map cost 15-30% in a prototype), keyed by tokio's task id with a hash that
//! keeps it in spawn order (see `shards.rs` and `task_hash.rs`).
//!
//! Each entry carries a poll token that orders the task's polls across workers: see
//! `poll_token.rs`, which holds that protocol (and is model-checked with loom).
//!
//! Nothing that can run user code (hooks, dropping a context's values) runs under a shard lock:
//! hooks may spawn, and a spawn takes a shard lock.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::task::Id;

use super::SelfTracked;
use super::poll_token::{self, Polled, Termination, Tracked, UNTRACKED};
use super::shards::Shards;
use crate::resource::Resource;
use crate::{AsyncId, hooks};

/// One opted-in runtime's tracked tasks.
pub(crate) struct TaskTable {
    tasks: Shards<Tracked>,
}

/// Every table, for [`tracked_tasks`]. Locked only when a runtime is built and by that function.
static TABLES: Mutex<Vec<Weak<TaskTable>>> = Mutex::new(Vec::new());

thread_local! {
    /// The polls running on this thread, innermost last.
    static POLLING: RefCell<Vec<Polled>> = const { RefCell::new(Vec::new()) };
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
    pub(crate) fn new() -> Arc<TaskTable> {
        let table = Arc::new(TaskTable { tasks: Shards::new() });
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
        let tracked = Tracked::new(Resource::spawned("task", at));
        let replaced = self.tasks.with(task, |m| m.insert(task, tracked));
        drop(replaced); // ids are never reused while tracked; dropped outside the lock anyway
    }

    /// `on_before_task_poll`: enters the task's context and ids, then fires `before`.
    pub(crate) fn before_poll(&self, task: Id) {
        let polled = POLLING
            .try_with(|p| {
                let polled = self.acquire(task);
                p.borrow_mut().push(polled);
                polled
            })
            .unwrap_or(UNTRACKED);
        if polled.hooked {
            hooks::before(polled.id);
        }
    }

    /// Takes the task's poll token and enters its context.
    fn acquire(&self, task: Id) -> Polled {
        poll_token::acquire(|| self.tasks.with(task, |m| poll_token::try_enter(m, &task)))
    }

    /// `on_after_task_poll`: fires `after` inside the task's context, saves the context (with
    /// any `set` made in the poll) back into the table and restores the thread's own.
    pub(crate) fn after_poll(&self, task: Id) {
        let polled = POLLING.try_with(|p| p.borrow_mut().pop()).ok().flatten().unwrap_or(UNTRACKED);
        if polled.id == AsyncId::NONE {
            return;
        }
        if polled.hooked {
            hooks::after(polled.id);
        }
        let ended = self.tasks.with(task, |m| poll_token::leave(m, &task, polled));
        drop(ended); // `destroy`, after `after`, outside the lock
    }

    /// `on_task_terminate`: the task is gone (completed, cancelled, or shut down). Also called
    /// for ids never announced (worker threads, blocking tasks), which are not in the table.
    pub(crate) fn terminated(&self, task: Id) {
        let ended = self.tasks.with(task, |m| poll_token::terminate(m, &task));
        if let Termination::Unknown = ended {
            let _ = ENDED_UNANNOUNCED.try_with(|e| e.set(Some(task)));
        }
        drop(ended); // `destroy`, outside the lock
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
