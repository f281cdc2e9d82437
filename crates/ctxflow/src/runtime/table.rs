//! The side table of an opted-in runtime: task id -> the task's context, ids and poll token.
//!
//! tokio's hooks hand over nothing but a task id, so the context lives here between polls.
//! The table is sharded (no lock shared by all workers on the poll path; a single
//! mutex-guarded map cost 15-30% in a prototype), keyed by tokio's task id with a hash that
//! keeps it in spawn order (see `shards.rs` and `task_hash.rs`).
//!
//! The poll token: tokio can run a task again on another worker before the worker that polled
//! it last has run the after-poll hook (the task woke itself during the poll and was stolen in
//! between). The entry therefore records which poll holds it; a before-poll that finds it held
//! waits, spinning then yielding, until the after-poll of the previous poll has put the context
//! back. The window is a few instructions long, so the wait is short and rare, and every task's
//! polls are ordered as its hooks see them: `before`, `after`, `before`, `after`.
//!
//! Nothing that can run user code (hooks, dropping a context's values) runs under a shard lock:
//! hooks may spawn, and a spawn takes a shard lock.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::task::Id;

use super::SelfTracked;
use super::shards::{Backoff, Shards};
use crate::resource::Resource;
use crate::{AsyncId, current, hooks};

/// One opted-in runtime's tracked tasks.
pub(crate) struct TaskTable {
    tasks: Shards<Tracked>,
}

struct Tracked {
    /// The task's context and ids. While a poll holds the entry, `res.ctx` holds the polling
    /// thread's previous context instead (they were swapped).
    res: Resource,
    /// The poll token: a poll of the task is running (its thread holds the rest in `POLLING`).
    polling: bool,
    /// tokio terminated the task during a poll; the end of that poll removes the entry.
    terminated: bool,
}

/// Every table, for [`tracked_tasks`]. Locked only when a runtime is built and by that function.
static TABLES: Mutex<Vec<Weak<TaskTable>>> = Mutex::new(Vec::new());
static WAITED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The polls running on this thread, innermost last.
    static POLLING: RefCell<Vec<Polled>> = const { RefCell::new(Vec::new()) };
    /// The last id whose termination this thread saw without having seen its spawn. At
    /// shutdown tokio terminates a task being spawned *before* running the spawn hook, on the
    /// spawning thread, with nothing in between; that hook must then not track it.
    static ENDED_UNANNOUNCED: Cell<Option<Id>> = const { Cell::new(None) };
}

/// A poll in progress on this thread.
#[derive(Clone, Copy)]
struct Polled {
    /// The task's id, or `NONE` for a task this table does not track (spawned through
    /// ctxflow, or already gone).
    id: AsyncId,
    /// Whether `before` was dispatched, so `after` must be.
    hooked: bool,
    /// The ids of the code the poll interrupted on this thread.
    prev_ids: (AsyncId, AsyncId),
}

const UNTRACKED: Polled = Polled { id: AsyncId::NONE, hooked: false, prev_ids: (AsyncId::NONE, AsyncId::NONE) };

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
        let tracked = Tracked { res: Resource::spawned("task", at), polling: false, terminated: false };
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
        let mut backoff = None;
        loop {
            let taken = self.tasks.with(task, |m| {
                let Some(t) = m.get_mut(&task) else { return Some(UNTRACKED) };
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
            });
            if let Some(polled) = taken {
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
        let ended = self.tasks.with(task, |m| {
            let t = m.get_mut(&task)?;
            if std::mem::take(&mut t.polling) {
                current::leave_detached(&mut t.res.ctx, polled.prev_ids);
            }
            if t.terminated { m.remove(&task) } else { None }
        });
        drop(ended); // `destroy`, after `after`, outside the lock
    }

    /// `on_task_terminate`: the task is gone (completed, cancelled, or shut down). Also called
    /// for ids never announced (worker threads, blocking tasks), which are not in the table.
    pub(crate) fn terminated(&self, task: Id) {
        let ended = self.tasks.with(task, |m| match m.get_mut(&task) {
            // Inside a poll (tokio terminates a task before its last after-poll): the end of
            // that poll removes it, so `destroy` comes after `after`.
            Some(t) if t.polling => {
                t.terminated = true;
                None
            }
            Some(_) => m.remove(&task),
            None => {
                let _ = ENDED_UNANNOUNCED.try_with(|e| e.set(Some(task)));
                None
            }
        });
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
