//! Async ids: which resource's code runs now, and which resource created it.
//!
//! Ids are handed out from per-thread blocks so that spawning never contends on one global
//! counter: a thread takes a block of [`BLOCK`] ids with one atomic add and then counts up
//! locally. Ids are unique for the life of the process and increase within each thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

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

thread_local! {
    static LOCAL: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// The execution id and trigger id of the code running now on this thread.
    static CURRENT: Cell<(AsyncId, AsyncId)> = const { Cell::new((AsyncId::ROOT, AsyncId::NONE)) };
}

/// `(execution id, trigger id)` of the code running now.
#[inline]
pub(crate) fn current() -> (AsyncId, AsyncId) {
    CURRENT.try_with(Cell::get).unwrap_or((AsyncId::ROOT, AsyncId::NONE))
}

/// Makes `ids` current; returns the previous ones, for [`restore`].
#[inline]
pub(crate) fn enter(ids: (AsyncId, AsyncId)) -> (AsyncId, AsyncId) {
    CURRENT.try_with(|c| c.replace(ids)).unwrap_or((AsyncId::ROOT, AsyncId::NONE))
}

/// Undoes [`enter`].
#[inline]
pub(crate) fn restore(prev: (AsyncId, AsyncId)) {
    let _ = CURRENT.try_with(|c| c.set(prev));
}

/// Execution and trigger ids made current on this thread; the previous ones come back when
/// dropped (also on unwind).
pub(crate) struct IdsEntered {
    prev: (AsyncId, AsyncId),
}

impl IdsEntered {
    #[inline]
    pub(crate) fn new(ids: (AsyncId, AsyncId)) -> IdsEntered {
        IdsEntered { prev: enter(ids) }
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
