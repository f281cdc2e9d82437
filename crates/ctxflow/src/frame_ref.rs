//! `FrameRef`: the shared pointer to a frame, whose allocation each thread reuses.
//!
//! Why not `Arc<Frame>`: every scope builds a frame and, when it ends, usually frees it again
//! (nothing captured it). With `Arc` that is one `malloc` and one `free` per scope, about 120
//! of a `sync_scope`'s instructions (callgrind, `docs/core-costs.md`). All frames have one
//! size, so the owner that drops the last count keeps the allocation in a small per-thread
//! stack instead of freeing it, and the next frame built on that thread takes it from there:
//! two plain loads and stores where the allocator's round trip was. Reading is unchanged (the
//! pointer leads straight to the frame), and so is sharing: the count works as `Arc`'s does
//! (`Relaxed` increments, a `Release` decrement, an `Acquire` fence before the last owner
//! touches the frame). A thread keeps at most [`KEPT`] allocations (under 1 KiB); frames whose
//! entries spilled to the heap are freed, not kept.

use std::cell::Cell;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering, fence};

use crate::frame::{Entries, Frame};
use crate::sync::thread_local;

/// The allocation: the count and the frame, as `Arc` lays out its own.
struct Shared {
    count: AtomicUsize,
    frame: Frame,
}

/// A counted reference to an immutable [`Frame`]: `Arc<Frame>` with a reused allocation.
pub(crate) struct FrameRef(NonNull<Shared>);

// SAFETY: a `FrameRef` shares its frame as `Arc<Frame>` does, and `Frame` is `Send + Sync`
// (its values are): it is never changed while more than one count exists, and the last owner
// reaches it only after the `Acquire` fence that orders every other owner's use before.
unsafe impl Send for FrameRef {}
// SAFETY: as above.
unsafe impl Sync for FrameRef {}

/// How many spare allocations a thread keeps.
const KEPT: usize = 8;

/// This thread's spare allocations: `free[..len]`, each a `Box::into_raw` with an empty
/// frame, owned by this struct. (Raw pointers rather than `Option<Box<_>>`: no drop glue
/// to run on every store.)
struct Spares {
    len: Cell<usize>,
    free: [Cell<*mut Shared>; KEPT],
}

thread_local! {
    static SPARES: Spares =
        const { Spares { len: Cell::new(0), free: [const { Cell::new(std::ptr::null_mut()) }; KEPT] } };
}

impl Drop for Spares {
    /// Thread exit: frees the spares.
    fn drop(&mut self) {
        for slot in &self.free[..self.len.get()] {
            // SAFETY: `free[..len]` are owned `Box::into_raw` pointers, freed once, here.
            drop(unsafe { Box::from_raw(slot.get()) });
        }
    }
}

/// A frame being built: entries are pushed onto it, then [`finish`](NewFrame::finish) shares
/// it. (A builder rather than a closure: the closure's captures were stored and copied again
/// around the call that takes a spare, ~40 instructions of a scope's setup.)
pub(crate) struct NewFrame(Box<Shared>);

impl NewFrame {
    /// An empty frame, in one of this thread's spare allocations when it has one.
    #[inline]
    pub(crate) fn new() -> NewFrame {
        NewFrame(take_spare().unwrap_or_else(|| {
            Box::new(Shared { count: AtomicUsize::new(1), frame: Frame { entries: Entries::new() } })
        }))
    }

    /// The entries, to push onto in key order.
    #[inline]
    pub(crate) fn entries(&mut self) -> &mut Entries {
        &mut self.0.frame.entries
    }

    /// The frame, shared; `None`, the empty context, when nothing was pushed.
    #[inline]
    pub(crate) fn finish(self) -> Option<FrameRef> {
        let mut shared = self.0;
        if shared.frame.entries.is_empty() {
            keep_spare(shared);
            return None;
        }
        *shared.count.get_mut() = 1;
        crate::stats::frame_created();
        Some(FrameRef(NonNull::from(Box::leak(shared))))
    }
}

impl FrameRef {
    /// Where the frame is, for a read that must not hold a reference across user code.
    #[inline]
    pub(crate) fn as_ptr(this: &FrameRef) -> *const Frame {
        // SAFETY: the allocation is live while `this` holds a count; no reference is made.
        unsafe { &raw const (*this.0.as_ptr()).frame }
    }

    /// Whether both point to the same frame, for tests.
    #[cfg(test)]
    pub(crate) fn ptr_eq(a: &FrameRef, b: &FrameRef) -> bool {
        a.0 == b.0
    }

    /// The number of counts held (`Arc::strong_count`), for tests.
    #[cfg(test)]
    pub(crate) fn count(this: &FrameRef) -> usize {
        this.shared().count.load(Ordering::Acquire)
    }

    #[inline]
    fn shared(&self) -> &Shared {
        // SAFETY: the allocation is live while `self` holds a count.
        unsafe { self.0.as_ref() }
    }
}

impl Deref for FrameRef {
    type Target = Frame;

    #[inline]
    fn deref(&self) -> &Frame {
        &self.shared().frame
    }
}

impl Clone for FrameRef {
    #[inline]
    fn clone(&self) -> FrameRef {
        // `Relaxed`, as in `Arc::clone`: a new count needs no ordering, only the drop of the
        // last one does. Counts past `isize::MAX` can only come from leaked clones: abort
        // rather than wrap, as `Arc` does.
        if self.shared().count.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
        FrameRef(self.0)
    }
}

impl Drop for FrameRef {
    #[inline]
    fn drop(&mut self) {
        if self.shared().count.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            // SAFETY: that was the last count, so nothing else can reach the allocation, and
            // the fence orders every other owner's use of it before ours. `NewFrame::finish` made
            // it from a `Box` and leaked it; this takes it back exactly once.
            release(unsafe { Box::from_raw(self.0.as_ptr()) });
        }
    }
}

/// The last count is gone: empty the frame (its values' `Drop` code may build and drop
/// frames of its own, so the allocation is kept only afterwards) and keep the allocation.
#[inline(never)]
fn release(mut shared: Box<Shared>) {
    crate::stats::frame_dropped();
    shared.frame.entries.clear();
    keep_spare(shared);
}

fn take_spare() -> Option<Box<Shared>> {
    SPARES
        .try_with(|s| {
            let n = s.len.get().checked_sub(1)?;
            let spare = s.free.get(n)?.get();
            s.len.set(n);
            // SAFETY: `free[n]` was owned by the spares, and no longer is (`len` is now `n`).
            Some(unsafe { Box::from_raw(spare) })
        })
        .ok()
        .flatten()
}

/// Keeps an empty, unspilled allocation for this thread's next frame, or frees it (the
/// spares are full, the entries had spilled to the heap, or the thread is exiting).
fn keep_spare(shared: Box<Shared>) {
    if shared.frame.entries.spilled() {
        return;
    }
    let _ = SPARES.try_with(move |s| {
        let n = s.len.get();
        if let Some(slot) = s.free.get(n) {
            slot.set(Box::into_raw(shared));
            s.len.set(n + 1);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Entry, Value};

    fn frame_of(keys: &[u64]) -> Option<FrameRef> {
        let mut new = NewFrame::new();
        new.entries().extend(keys.iter().map(|&key| Entry { key, value: Value::new(key as u32) }));
        new.finish()
    }

    #[test]
    fn the_last_drop_frees_the_values_and_the_allocation_is_reused() {
        let witness = std::sync::Arc::new(());
        let mut new = NewFrame::new();
        new.entries().push(Entry { key: 2, value: Value::new(std::sync::Arc::clone(&witness)) });
        let a = new.finish().unwrap();
        let b = a.clone();
        assert_eq!(FrameRef::count(&a), 2);
        assert!(FrameRef::ptr_eq(&a, &b));
        let at = a.0;
        drop(a);
        assert_eq!(std::sync::Arc::strong_count(&witness), 2, "b still holds the value");
        drop(b);
        assert_eq!(std::sync::Arc::strong_count(&witness), 1, "the last drop freed it");
        let c = frame_of(&[4]).unwrap();
        assert_eq!(c.0, at, "the next frame on this thread reuses the allocation");
        assert_eq!(FrameRef::count(&c), 1);
        assert_eq!(c.keys().collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn building_nothing_is_the_empty_context() {
        assert!(frame_of(&[]).is_none());
    }

    #[test]
    fn spilled_and_surplus_frames_are_freed() {
        let spares = || SPARES.with(|s| s.len.get());
        let frames: Vec<_> = (0..2 * KEPT).map(|_| frame_of(&[1]).unwrap()).collect();
        drop(frames);
        assert_eq!(spares(), KEPT, "a thread keeps at most KEPT");
        let many: Vec<u64> = (1..=9).collect();
        let spilled = frame_of(&many).unwrap();
        assert_eq!(spilled.keys().collect::<Vec<_>>(), many);
        assert_eq!(spares(), KEPT - 1, "it took a spare");
        drop(spilled);
        assert_eq!(spares(), KEPT - 1, "and its allocation, with entries on the heap, was freed");
    }

    #[test]
    fn frames_cross_threads_and_die_on_either() {
        let frames: Vec<_> = (0..64).map(|i| frame_of(&[i]).unwrap()).collect();
        let copies = frames.clone();
        let t = std::thread::spawn(move || {
            for (i, f) in copies.iter().enumerate() {
                assert_eq!(f.keys().collect::<Vec<_>>(), [i as u64]);
            }
            drop(copies);
        });
        drop(frames);
        t.join().unwrap();
    }
}
