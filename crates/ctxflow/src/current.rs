//! The thread's current context, and the only code that touches it.
//!
//! Every poll of a context-carrying future *swaps* its frame into this thread-local and swaps
//! it back out when the poll ends, on return and on unwind alike, through [`Entered`]'s `Drop`.
//! Swapping moves an `Arc` pointer; it never touches a reference count, which keeps the
//! per-poll cost at a few plain loads and stores.
//!
//! Reads ([`read`]) hand out a plain reference into the current frame without cloning the
//! `Arc`, so `get`/`with` cost no atomic operation. That reference is sound because no code
//! path frees a frame that was current while a read is in progress: [`swap`] moves frames
//! between this slot and a guard (never dropping one), and [`replace`] (the one operation that
//! retires a frame, used by `set`) parks the retired frame until the outermost read ends.
//! This module and `Frame::get_as` (a read without a dynamic type check) are the only `unsafe`
//! in the crate; their tests run under miri (`scripts/miri.sh`).

use std::cell::{Cell, UnsafeCell};
use std::sync::Arc;

use crate::frame::{Ctx, Frame};
use crate::ids::AsyncId;
// One thread-local per thread, also per thread of a loom model (`tests/loom_*.rs`).
use crate::sync::thread_local;

struct State {
    /// The current frame. Only this module reaches inside it.
    frame: UnsafeCell<Ctx>,
    /// Reads in progress on this thread (nested `with` calls).
    reading: Cell<u32>,
    /// Frames retired by `replace` while a read was in progress; freed when reads end.
    retired: UnsafeCell<Vec<Arc<Frame>>>,
    /// Entered ctxflow scopes on this thread (tasks, `scope`, `Snapshot::run`, ...).
    depth: Cell<u32>,
    /// The execution id and trigger id of the code running now.
    ids: Cell<(AsyncId, AsyncId)>,
}

thread_local! {
    static STATE: State = const {
        State {
            frame: UnsafeCell::new(None),
            reading: Cell::new(0),
            retired: UnsafeCell::new(Vec::new()),
            depth: Cell::new(0),
            ids: Cell::new((AsyncId::ROOT, AsyncId::NONE)),
        }
    };
}

/// Runs `f` with a reference to the current frame (`None`: the empty context, or a thread
/// whose thread-locals are already torn down).
#[inline]
pub(crate) fn read<R>(f: impl FnOnce(Option<&Frame>) -> R) -> R {
    let Ok(state) = STATE.try_with(|s| s as *const State) else { return f(None) };
    // SAFETY: `state` points to this thread's `State`, which lives until the thread's
    // thread-local destructors run; they cannot run while this function is on the stack.
    let s = unsafe { &*state };
    // SAFETY: `frame` is only accessed from this thread. The shared reference lives just
    // long enough to copy out the frame pointer; every `&mut` to the slot in this module
    // lives for one statement that calls no user code, so none overlaps it.
    let ptr: Option<*const Frame> = unsafe { (*s.frame.get()).as_ref().map(Arc::as_ptr) };
    s.reading.set(s.reading.get() + 1);
    let _end = ReadEnd(s);
    // SAFETY: the frame at `ptr` was owned by this thread's slot when we took the pointer.
    // While `reading > 0` no code frees it: `swap` only moves `Arc`s between the slot and
    // guards that hold them until they swap back, and `replace` parks a retired `Arc` in
    // `retired` instead of dropping it. `retired` is emptied only by `ReadEnd` when the
    // count returns to 0, after `f` has returned or unwound. The reference cannot escape
    // `f`, whose signature is generic over the reference's lifetime.
    f(ptr.map(|p| unsafe { &*p }))
}

struct ReadEnd<'a>(&'a State);

impl Drop for ReadEnd<'_> {
    #[inline]
    fn drop(&mut self) {
        let s = self.0;
        let n = s.reading.get() - 1;
        s.reading.set(n);
        // SAFETY: single-threaded access; the shared reference lives for this expression.
        if n == 0 && unsafe { !(*s.retired.get()).is_empty() } {
            // SAFETY: no read is in progress on this thread, so no reference into a retired
            // frame exists. The vector is taken out first so that `Drop` code of the values
            // (which may call back into ctxflow) sees a consistent, empty `retired`.
            let retired = unsafe { std::mem::take(&mut *s.retired.get()) };
            drop(retired);
        }
    }
}

/// Exchanges the current frame with `slot`. Never drops a frame.
#[inline]
pub(crate) fn swap(slot: &mut Ctx) {
    let _ = STATE.try_with(|s| swap_in(s, slot));
}

#[inline]
fn swap_in(s: &State, slot: &mut Ctx) {
    // SAFETY: `s.frame` is only accessed from this thread, and `slot` is a distinct, live
    // `&mut` (it cannot alias the thread-local, which no code hands out). No user code runs
    // during the swap, and no frame is dropped, so in-progress reads stay valid.
    unsafe { std::ptr::swap(s.frame.get(), slot) };
}

/// Makes `new` the current frame and retires the old one (used by `set`).
pub(crate) fn replace(new: Ctx) {
    let mut slot = new;
    swap(&mut slot);
    let Some(old) = slot else { return };
    let _ = STATE.try_with(move |s| {
        if s.reading.get() > 0 {
            // SAFETY: single-threaded access; the `&mut` lives for this statement only.
            unsafe { (*s.retired.get()).push(old) };
        } else {
            // Dropped after the slot was updated, so `Drop` code sees the new context.
            drop(old);
        }
    });
}

/// A clone of the current frame (one reference-count increment).
pub(crate) fn capture() -> Ctx {
    STATE
        .try_with(|s| {
            // SAFETY: shared access for the duration of the clone; no `&mut` exists meanwhile
            // and `Arc::clone` runs no user code.
            unsafe { (*s.frame.get()).clone() }
        })
        .unwrap_or(None)
}

/// Whether this thread's context storage still exists (false during thread teardown).
pub(crate) fn alive() -> bool {
    STATE.try_with(|_| ()).is_ok()
}

/// Entered ctxflow scopes on this thread.
pub(crate) fn depth() -> u32 {
    STATE.try_with(|s| s.depth.get()).unwrap_or(0)
}

/// `(execution id, trigger id)` of the code running now.
pub(crate) fn ids() -> (AsyncId, AsyncId) {
    STATE.try_with(|s| s.ids.get()).unwrap_or((AsyncId::ROOT, AsyncId::NONE))
}

/// A context entered on this thread. Dropping it (also during unwinding) puts the previous
/// context and ids back and leaves the frame, as the entered code left it, in `slot`.
pub(crate) struct Entered<'a> {
    slot: &'a mut Ctx,
    prev_ids: Option<(AsyncId, AsyncId)>,
}

impl<'a> Entered<'a> {
    /// Enters the frame in `slot`. With `ids`, they become the execution and trigger ids.
    #[inline]
    pub(crate) fn new(slot: &'a mut Ctx, ids: Option<(AsyncId, AsyncId)>) -> Self {
        let prev_ids = STATE
            .try_with(|s| {
                swap_in(s, slot);
                s.depth.set(s.depth.get() + 1);
                ids.map(|new| s.ids.replace(new))
            })
            .unwrap_or(None);
        Entered { slot, prev_ids }
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        let _ = STATE.try_with(|s| {
            swap_in(s, self.slot);
            s.depth.set(s.depth.get().saturating_sub(1));
            if let Some(prev) = self.prev_ids {
                s.ids.set(prev);
            }
        });
    }
}

/// What [`Entered`] does, for code whose start and end run in different callbacks (tokio's
/// before-poll and after-poll hooks, which cannot share a borrow): enters the frame in `slot`
/// (the previous frame goes into `slot`) and makes `ids` current. Returns the ids to hand back
/// to [`leave_detached`], which the caller must call exactly once on this thread, innermost
/// first.
#[cfg(all(feature = "runtime", tokio_unstable))]
pub(crate) fn enter_detached(slot: &mut Ctx, ids: (AsyncId, AsyncId)) -> (AsyncId, AsyncId) {
    swap(slot);
    STATE
        .try_with(|s| {
            s.depth.set(s.depth.get() + 1);
            s.ids.replace(ids)
        })
        .unwrap_or((AsyncId::ROOT, AsyncId::NONE))
}

/// Undoes [`enter_detached`]: the entered frame, as the code left it, goes back into `slot`.
#[cfg(all(feature = "runtime", tokio_unstable))]
pub(crate) fn leave_detached(slot: &mut Ctx, prev_ids: (AsyncId, AsyncId)) {
    let _ = STATE.try_with(|s| {
        s.depth.set(s.depth.get().saturating_sub(1));
        s.ids.set(prev_ids);
    });
    swap(slot);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Change, apply};

    fn frame_with(key: u64, v: u32) -> Ctx {
        apply(None, [Change { key, value: Some(Arc::new(v)) }]).unwrap()
    }

    fn current(key: u64) -> Option<u32> {
        read(|f| f?.get(key)?.downcast_ref::<u32>().copied())
    }

    #[test]
    fn replace_during_a_read_keeps_the_read_frame_alive() {
        let mut outer = frame_with(2, 1);
        let _g = Entered::new(&mut outer, None);
        read(|f| {
            let v = f.unwrap().get(2).unwrap();
            // Retire the frame we are reading from, twice over.
            replace(frame_with(2, 2));
            replace(frame_with(2, 3));
            assert_eq!(current(2), Some(3));
            assert_eq!(v.downcast_ref::<u32>(), Some(&1));
        });
        assert_eq!(current(2), Some(3));
    }

    #[test]
    fn entered_restores_on_unwind() {
        let before = current(2);
        let mut slot = frame_with(2, 9);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = Entered::new(&mut slot, Some((AsyncId(77), AsyncId(1))));
            assert_eq!(current(2), Some(9));
            assert_eq!(ids().0, AsyncId(77));
            panic!("boom");
        }));
        assert!(r.is_err());
        assert_eq!(current(2), before);
        assert_eq!(ids(), (AsyncId::ROOT, AsyncId::NONE));
        assert!(slot.is_some(), "the entered frame went back to its owner");
    }
}
