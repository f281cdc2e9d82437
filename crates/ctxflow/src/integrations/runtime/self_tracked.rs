//! Keeping an opted-in runtime's hands off tasks that ctxflow already tracks.
//!
//! `ctxflow::spawn` wraps its future in a `Task` that carries its own context, ids and hook
//! events. On an opted-in runtime the spawn hook would track the same task a second time (two
//! ids, two sets of events, two context swaps per poll). tokio runs the spawn hook synchronously
//! inside the spawn call, so a thread-local flag raised around that call tells the hook to skip
//! it. Raising and lowering it is two thread-local writes, next to nothing beside a spawn.

use std::cell::Cell;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Raised while ctxflow spawns one of its own `Task`s; lowered on drop (also if the spawn
/// panics, as `tokio::spawn` does outside a runtime).
pub(crate) struct SelfTracked {
    prev: bool,
}

impl SelfTracked {
    #[inline]
    pub(crate) fn begin() -> SelfTracked {
        SelfTracked { prev: ACTIVE.try_with(|f| f.replace(true)).unwrap_or(false) }
    }

    /// Whether the task being spawned on this thread right now tracks itself.
    #[cfg(all(tokio_unstable, not(loom)))]
    #[inline]
    pub(crate) fn active() -> bool {
        ACTIVE.try_with(Cell::get).unwrap_or(false)
    }
}

impl Drop for SelfTracked {
    #[inline]
    fn drop(&mut self) {
        let _ = ACTIVE.try_with(|f| f.set(self.prev));
    }
}
