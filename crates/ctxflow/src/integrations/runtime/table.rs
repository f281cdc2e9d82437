//! The side table of the opted-in runtimes: task id -> the task's context and ids.
//!
//! tokio's hooks hand over nothing but a task id, so a task's context lives here, from its spawn
//! to its termination. One table serves every opted-in runtime of the process, since tokio's
//! task ids are unique process-wide. It is sharded (no lock shared by all workers) and keeps
//! consecutive ids together (see `shards.rs` and `task_hash.rs`).
//!
//! The entry is the one place a task's frame lives, and it is always up to date. Without hooks
//! registered, a poll enters nothing up front: tokio names the running task during each poll,
//! so code of the task that reads, captures or writes the context outside a scope of its own
//! finds the frame here, under the shard lock (`context/held.rs`), and its ids likewise. The
//! second such use in one poll enters a copy of the frame as a forwarding scope for the rest of
//! the poll (below), so that a poll that reads many times pays one lookup, and one that never
//! reads pays none. A `set` reaches the entry at once either way, so tokio re-polling a task on
//! another worker before the first worker's after-poll hook has run (a task that wakes itself
//! can be stolen that early) finds every write of the previous poll.
//!
//! With hooks registered, `before` and `after` must run inside the task's context and ids, so
//! the before-poll hook enters that copy (one reference count) at once. A `set` made while the
//! forwarding scope is innermost also goes straight to the entry (`context/forwarding.rs`), and
//! the after-poll hook only leaves the scope.
//!
//! A task's `before`, `after` and `destroy` must come in order, as if its polls never
//! overlapped; so an announced poll marks the entry, a `before` that finds the mark waits
//! (spinning, then yielding) until the previous poll's `after` has cleared it, and only then is
//! the next poll announced. The window is a few instructions wide, so the wait is short and
//! rare, and without hooks nothing waits at all.
//!
//! For the same reason, a task terminated while an announced poll of it is in flight keeps its
//! entry until that poll's `after` (tokio terminates a task inside its last poll, and at
//! shutdown while another worker is about to poll it): that `after` removes it, so `destroy`
//! comes last.
//!
//! Nothing that can run user code (hooks, dropping a context's values) runs under a shard lock:
//! hooks may spawn, and a spawn takes a shard lock. And nothing of it may panic out of a tokio
//! hook, which would take the worker down: a context dropped here goes through
//! `contain::drop_quietly`.

use std::cell::{Cell, RefCell};
use std::panic::Location;

use tokio::task::Id;

use super::SelfTracked;
use super::shards::{self, Shard, Shards};
use super::site_filter::SiteFilter;
use super::slots::TaskEntry;
use crate::contain;
use crate::context::forwarding;
use crate::context::frame::Ctx;
use crate::context::held::{self, Found, Holder};
use crate::context::owner::Owner;
use crate::resource::hooks;
use crate::resource::ids::{self, AsyncId};
use crate::resource::tracked::Resource;

/// Every tracked task of every opted-in runtime: its context (always up to date, see the
/// module docs) and ids, `destroy` when dropped; marked while an announced poll of it is in
/// flight.
static TASKS: Shards<InFlight> = Shards::new();

/// The mark of a task whose announced poll (`before` dispatched) has not dispatched its
/// `after` yet.
struct InFlight {
    /// tokio terminated the task during that poll: its `after` removes the entry.
    terminated: bool,
}

/// A poll running with nothing entered for its task (see [`held_find`]).
#[derive(Clone, Copy)]
struct Unentered {
    task: Option<Id>,
    /// Its code has read the context once, from the table.
    read: bool,
}

impl Unentered {
    const NONE: Unentered = Unentered { task: None, read: false };
}

/// What a poll enters: a copy of the task's frame, its ids, and its id if announced.
type Entered = (Ctx, (AsyncId, AsyncId), Option<AsyncId>);

/// A tracked poll running on this thread.
struct Poll {
    task: Id,
    /// The copy of the task's frame entered for the poll (after it: the thread's previous one).
    slot: Ctx,
    entered: forwarding::Entered,
    /// The ids of the code the poll interrupted on its thread.
    prev_ids: ids::Entry,
    /// The task's id, if the poll dispatched `before` (so `after` is due).
    announced: Option<AsyncId>,
}

thread_local! {
    /// The tracked polls running on this thread that entered their task's frame, innermost
    /// last. More than one only when a runtime is driven from inside a task.
    static POLLS: RefCell<Vec<Poll>> = const { RefCell::new(Vec::new()) };
    /// The tracked task whose poll runs on this thread with nothing entered for it yet. Apart
    /// from `POLLS`, which needs dropping: a thread-local that needs none costs no check of its
    /// state, and every unhooked poll touches this one only.
    static UNENTERED: Cell<Unentered> = const { Cell::new(Unentered::NONE) };
    /// The last id whose termination this thread saw without having seen its spawn. At
    /// shutdown tokio terminates a task being spawned *before* running the spawn hook, on the
    /// spawning thread, with nothing in between; that hook must then not track it.
    static ENDED_UNANNOUNCED: Cell<Option<Id>> = const { Cell::new(None) };
}

/// `on_task_spawn`: runs on the spawning thread, inside the spawner's poll, before the task
/// can be scheduled; so the current context is the spawner's (unless the runtime's `empty_at`
/// lists the spawn site).
pub(crate) fn spawned(empty_at: &SiteFilter, task: Id, at: &'static Location<'static>) {
    if SelfTracked::active() {
        return;
    }
    let ended_already = ENDED_UNANNOUNCED.try_with(|e| e.take() == Some(task)).unwrap_or(false);
    if ended_already {
        return;
    }
    let resource = if empty_at.starts_empty(at) {
        Resource::new("task", None, ids::current().0, at)
    } else {
        Resource::spawned("task", at)
    };
    let replaced = TASKS.with(task, |m| m.entries.insert(task, resource));
    // Ids are never reused while tracked; dropped outside the lock anyway.
    if replaced.is_some() {
        contain::drop_quietly("a task's context", replaced);
    }
}

/// Makes the table the place where reads, writes and ids of a task outside its own scopes are
/// found (see `context/held.rs`).
pub(crate) fn hold() {
    held::hold_with(Holder { holds: held_holds, replace: held_replace, find: held_find });
    ids::hold_with(held_ids);
}

/// Whether task `owner` is tracked (no count taken on its frame).
fn held_holds(owner: Owner) -> bool {
    with_entry(owner, |_| ()).is_some()
}

/// A counted reference to the frame of task `owner`, if tracked.
fn held_frame(owner: Owner) -> Option<Ctx> {
    with_entry(owner, |e| e.ctx.clone())
}

/// `f` on the entry of task `owner`, under its shard's lock; `f` must run no user code.
#[inline]
fn with_entry<R>(owner: Owner, f: impl FnOnce(TaskEntry<'_>) -> R) -> Option<R> {
    let task = owner.task_id()?;
    TASKS.with(task, |m| m.entries.get(&task).map(f))
}

/// Gives tracked task `owner` the frame `new`; hands back the one it replaced, to be dropped by
/// the caller outside the lock.
fn held_replace(owner: Owner, new: Ctx) -> Result<Ctx, Ctx> {
    let Some(task) = owner.task_id() else { return Err(new) };
    TASKS.with(task, |m| match m.entries.ctx_mut(&task) {
        Some(ctx) => Ok(std::mem::replace(ctx, new)),
        None => Err(new),
    })
}

/// The execution and trigger ids of tracked task `owner`.
fn held_ids(owner: Owner) -> Option<(AsyncId, AsyncId)> {
    with_entry(owner, |e| e.ids)
}

/// Whether polls are announced to hooks now (some hook is registered). If not, the before-poll
/// hook has nothing to do: the task's code finds its frame and ids in the table when it needs
/// them.
#[inline]
pub(crate) fn polls_announced() -> bool {
    hooks::enabled()
}

/// `on_before_task_poll`, while [`polls_announced`]: enters the task's context and ids, then
/// fires `before`.
#[inline]
pub(crate) fn before_poll(task: Id) {
    let Some((ctx, ids, announced)) = shards::retry(|patient| TASKS.with(task, |m| enter_entry(m, task, patient)))
    else {
        return; // spawned through ctxflow (it tracks itself), or gone
    };
    if enter_poll(task, ctx, ids, announced)
        && let Some(id) = announced
    {
        hooks::before(id);
    }
}

/// `on_before_task_poll`, while not [`polls_announced`]: the poll of `task` starts, with
/// nothing entered for it; its code finds its frame when it needs it ([`held_find`]).
#[inline]
pub(crate) fn poll_starts(task: Id) {
    let _ = UNENTERED.try_with(|u| u.set(Unentered { task: Some(task), read: false }));
}

/// `on_after_task_poll`: the poll has ended. True if it may have entered its task's frame,
/// which [`after_poll`] then leaves: a poll still marked unentered did not (entering clears the
/// mark), so the usual poll never looks at `POLLS`.
#[inline]
pub(crate) fn poll_ends() -> bool {
    let unentered = UNENTERED.try_with(|u| u.replace(Unentered::NONE)).unwrap_or(Unentered::NONE);
    unentered.task.is_none() && POLLS.try_with(|p| !p.borrow().is_empty()).unwrap_or(false)
}

/// The frame of task `owner`, for its code that reads, captures or writes the context outside
/// a scope of its own. The first time in a poll, a counted reference: a poll that reads once is
/// cheaper with one lookup than with a scope entered and left. The second time, the frame and
/// ids are entered for the rest of the poll, so that later reads take the usual path, with no
/// lookup. Entered only inside the poll (between [`poll_starts`] and the after-poll hook that
/// leaves it): a future dropped at shutdown runs with no hook to leave a scope.
fn held_find(owner: Owner) -> Found {
    let Some(task) = owner.task_id() else { return Found::Nothing };
    let second = UNENTERED
        .try_with(|u| match u.get() {
            Unentered { task: Some(t), read } if t == task => {
                u.set(if read { Unentered::NONE } else { Unentered { task: Some(t), read: true } });
                read
            }
            _ => false,
        })
        .unwrap_or(false);
    if second {
        let Some((ctx, ids)) = with_entry(owner, |e| (e.ctx.clone(), e.ids)) else {
            return Found::Nothing;
        };
        if enter_poll(task, ctx, ids, None) {
            return Found::Entered;
        }
        // This thread is being torn down: the frame is read where it is held.
    }
    match held_frame(owner) {
        Some(ctx) => Found::Frame(ctx),
        None => Found::Nothing,
    }
}

/// Enters `ctx` and `ids` as task `task`'s poll on this thread, recorded for [`after_poll`] to
/// leave; false if this thread is being torn down (nothing is left entered then).
fn enter_poll(task: Id, ctx: Ctx, ids: (AsyncId, AsyncId), announced: Option<AsyncId>) -> bool {
    let mut slot = ctx;
    let entered = forwarding::enter(&mut slot, Owner::task(task), forward_write);
    let prev_ids = ids::enter(ids, Owner::task(task));
    // The record is built in place in the list. `slot` now holds the frame the thread had
    // before, which leaving restores: it is lent to the closure, so that it comes back if the
    // list is gone.
    let mut pending = Some(slot);
    let _ = POLLS.try_with(|p| {
        let slot = pending.take().unwrap_or_default();
        p.borrow_mut().push(Poll { task, slot, entered, prev_ids, announced })
    });
    if let Some(slot) = pending {
        let mut unrecorded = Poll { task, slot, entered, prev_ids, announced };
        // This thread is being torn down: the task runs without its context (its scope is
        // left at once, and the ownership rule keeps it from reading the thread's own).
        finish(&mut unrecorded);
        let ended = if announced.is_some() { unmark(task) } else { None };
        contain::drop_quietly("a task's context", (unrecorded, ended));
        return false;
    }
    true
}

/// `on_after_task_poll`: fires `after` inside the task's context, then leaves it and restores
/// the thread's own. The entry already holds every `set` of the poll.
#[inline]
pub(crate) fn after_poll(task: Id) {
    let poll = POLLS.try_with(|p| {
        let mut polls = p.borrow_mut();
        // Not ours: an untracked task, polled inside a tracked one.
        if polls.last().is_some_and(|p| p.task == task) { polls.pop() } else { None }
    });
    let Ok(Some(mut poll)) = poll else { return };
    let ended = poll.announced.and_then(|id| {
        hooks::after(id);
        unmark(task)
    });
    finish(&mut poll);
    // The entry of a task that ended (`destroy`), then the poll's copy of the frame.
    if ended.is_some() {
        contain::drop_quietly("a task's context", ended);
    }
    match &poll.slot {
        // The entry holds the frame too, so this drop runs no value's `Drop` code. (Should the
        // entry go meanwhile, a panic there reaches the hook's boundary, with nothing else
        // left to drop on the way.)
        Some(frame) if frame.is_shared() => drop(poll.slot),
        Some(_) => contain::drop_quietly("a task's context", poll.slot),
        None => {}
    }
}

/// Under the shard lock: the task's frame (a copy), its ids, and whether this poll is announced
/// (hooks are registered). `Some(None)`: not tracked. `None`: the previous poll, on another
/// worker, has not dispatched its `after` yet; try again (unless no longer `patient`).
#[inline]
fn enter_entry(m: &mut Shard<InFlight>, task: Id, patient: bool) -> Option<Option<Entered>> {
    let Some(e) = m.entries.get(&task) else { return Some(None) };
    let announced = if hooks::enabled() {
        if m.marks.get(task).is_none() {
            m.marks.set(task, InFlight { terminated: false });
        } else if patient {
            return None;
        }
        Some(e.ids.0)
    } else {
        None
    };
    Some(Some((e.ctx.clone(), e.ids, announced)))
}

/// After an announced poll's `after`: the next poll may be announced. Returns the entry of a
/// task terminated meanwhile, taken out of the table, for the caller to drop (`destroy`).
fn unmark(task: Id) -> Option<Resource> {
    TASKS.with(task, |m| match m.marks.take(task) {
        Some(InFlight { terminated: true }) => m.entries.remove(&task),
        _ => None,
    })
}

/// Leaves a poll's scope and ids: `poll.slot` gets the frame back.
#[inline(always)]
fn finish(poll: &mut Poll) {
    forwarding::leave(&mut poll.slot, poll.entered);
    ids::restore(poll.prev_ids);
}

/// Where a `set` made in a task's poll goes: the task's entry (see the module docs).
fn forward_write(owner: Owner, frame: Ctx) {
    // The entry's previous frame, dropped where the `set` that replaced it runs.
    drop(held_replace(owner, frame));
}

/// `on_task_terminate`: the task is gone (completed, cancelled, or shut down). Also called
/// for ids never announced (worker threads, blocking tasks), which are not in the table.
pub(crate) fn terminated(task: Id) {
    let removed = TASKS.with(task, |m| {
        if let Some(in_flight) = m.marks.get(task) {
            // A poll's `after` is still due: it removes the entry.
            in_flight.terminated = true;
            return Some(None);
        }
        m.entries.remove(&task).map(Some)
    });
    match removed {
        // `destroy`, outside the lock.
        Some(ended) => contain::drop_quietly("a task's context", ended),
        None => {
            let _ = ENDED_UNANNOUNCED.try_with(|e| e.set(Some(task)));
        }
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
    TASKS.len()
}
