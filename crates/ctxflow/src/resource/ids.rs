//! Async ids: which resource's code runs now, and which resource created it.
//!
//! Ids are handed out from per-thread blocks so that spawning never contends on one global
//! counter: a thread takes a block of [`BLOCK`] ids with one atomic add and then counts up
//! locally. Ids are unique for the life of the process and increase within each thread.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::context::owner::Owner;

/// The id of an async resource (a task, a blocking job, a thread, an [`AsyncResource`]).
///
/// [`AsyncId::ROOT`] (1) is the top level: code that runs outside any tracked resource.
/// [`AsyncId::NONE`] (0) is the trigger of the root.
///
/// [`AsyncResource`]: crate::AsyncResource
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct AsyncId(pub(crate) u64);

const BLOCK: u64 = 1024;
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(2);

/// The ids of the code running on a thread, and who entered them (see `context/owner.rs`).
pub(crate) type Entry = ((AsyncId, AsyncId), Owner);

const ROOT_ENTRY: Entry = ((AsyncId::ROOT, AsyncId::NONE), Owner::NOBODY);

thread_local! {
    static LOCAL: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// The execution id and trigger id of the code running now on this thread.
    static CURRENT: Cell<Entry> = const { Cell::new(ROOT_ENTRY) };
}

/// Where a runtime holds the ids of its tasks, which it does not enter around their polls (see
/// `context/held.rs`); `None` for a task not held. Must run no user code.
pub(crate) type HeldIds = fn(Owner) -> Option<(AsyncId, AsyncId)>;

static HELD: OnceLock<HeldIds> = OnceLock::new();

/// Makes `held` the place to look for the ids of tasks that run outside their own scopes. The
/// first stays.
#[cfg_attr(not(all(feature = "runtime", tokio_unstable, not(loom))), allow(dead_code))]
pub(crate) fn hold_with(held: HeldIds) {
    let _ = HELD.set(held);
}

/// `(execution id, trigger id)` of the code running now: the ids entered on this thread, unless
/// they were entered by other code than the running task and its runtime holds the task's own.
#[inline]
pub(crate) fn current() -> (AsyncId, AsyncId) {
    let (ids, owner) = CURRENT.try_with(Cell::get).unwrap_or(ROOT_ENTRY);
    if let Some(held) = HELD.get() {
        let running = Owner::running();
        if running != owner
            && let Some(ids) = held(running)
        {
            return ids;
        }
    }
    ids
}

/// Makes `ids` current, as entered by `owner`; returns the previous entry, for [`restore`].
#[inline]
pub(crate) fn enter(ids: (AsyncId, AsyncId), owner: Owner) -> Entry {
    CURRENT.try_with(|c| c.replace((ids, owner))).unwrap_or(ROOT_ENTRY)
}

/// Undoes [`enter`].
#[inline]
pub(crate) fn restore(prev: Entry) {
    let _ = CURRENT.try_with(|c| c.set(prev));
}

/// Execution and trigger ids made current on this thread; the previous ones come back when
/// dropped (also on unwind).
pub(crate) struct IdsEntered {
    prev: Entry,
}

impl IdsEntered {
    /// Enters `ids` as `owner`'s: the code that runs now.
    #[inline]
    pub(crate) fn new(ids: (AsyncId, AsyncId), owner: Owner) -> IdsEntered {
        IdsEntered { prev: enter(ids, owner) }
    }
}

impl Drop for IdsEntered {
    #[inline]
    fn drop(&mut self) {
        restore(self.prev);
    }
}

impl AsyncId {
    /// No resource: the trigger id of the root.
    pub const NONE: AsyncId = AsyncId(0);
    /// The root: code that runs outside any tracked resource.
    pub const ROOT: AsyncId = AsyncId(1);

    /// The id as a number (for logs and trace files).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// A fresh id.
    pub(crate) fn next() -> AsyncId {
        let fresh = LOCAL.try_with(|l| {
            let (mut next, mut end) = l.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            l.set((next + 1, end));
            next
        });
        // A thread whose locals are gone takes a single id from the shared counter.
        AsyncId(fresh.unwrap_or_else(|_| NEXT_BLOCK.fetch_add(1, Ordering::Relaxed)))
    }
}

impl std::fmt::Display for AsyncId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of the resource whose code runs now: the task, blocking job, thread or
/// [`AsyncResource`](crate::AsyncResource) entered on this thread, or [`AsyncId::ROOT`].
///
/// ```
/// assert_eq!(ctxflow::execution_id(), ctxflow::AsyncId::ROOT);
/// ```
pub fn execution_id() -> AsyncId {
    current().0
}

/// The id of the resource whose code created the one running now ([`AsyncId::NONE`] at the
/// top level). Inside a task spawned through ctxflow, it is the spawner's execution id.
///
/// ```
/// assert_eq!(ctxflow::trigger_id(), ctxflow::AsyncId::NONE);
/// ```
pub fn trigger_id() -> AsyncId {
    current().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..if cfg!(miri) { 300 } else { 3000 }).map(|_| AsyncId::next().0).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        assert!(all[0] >= 2, "0 and 1 are reserved");
    }
}
