//! The thread's current context, and the only code that touches it.
//!
//! Every poll of a context-carrying future *swaps* its frame into this thread-local and swaps
//! it back out when the poll ends, on return and on unwind alike, through [`Entered`]'s `Drop`.
//! Swapping moves a frame pointer (`FrameRef`); it never touches a reference count, which keeps the
//! per-poll cost at a few plain loads and stores.
//!
//! Reads ([`read`]) hand out a plain reference into the current frame without cloning its
//! `FrameRef`, so `get`/`with` cost no atomic operation. That reference is sound because no code
//! path frees a frame that was current while a read is in progress: [`swap_in`] moves frames
//! between this slot and a guard (never dropping one), and [`replace`] (the one operation that
//! retires a frame, used by `set`) parks the retired frame until the outermost read ends.
//! [`run_lent`] (`Snapshot::run_sync`) enters a frame that a snapshot keeps alive without taking
//! a count of its own; such a lent frame is never dropped here, only forgotten.
//! The state a read touches lives in a thread-local without a destructor ([`Hot`]), which std
//! reaches with no liveness check; what needs a destructor lives apart ([`Cold`]).
//! This module's `unsafe`, like that of `value.rs` (the type-erased `Arc`), `frame_ref.rs`
//! (the frame's reused allocation) and `Frame::get_as` (a read without a dynamic type check),
//! is tested under miri (`scripts/miri.sh`).

use crate::frame::{self, Ctx, Frame, FrameRef};
use crate::ids::AsyncId;
use std::cell::{Cell, UnsafeCell};
use std::mem::ManuallyDrop;
// One thread-local per thread, also per thread of a loom model (`tests/loom_*.rs`).
use crate::sync::thread_local;

/// What reads and polls touch. Nothing in it has a destructor, so std's thread-local needs no
/// "registered / destroyed" check on each access: that check (and the call that registers the
/// destructor) was a tenth of a read's instructions. The frame it owns is released at thread
/// exit by [`Cold`]'s destructor instead.
struct Hot {
    /// The current frame. Only this module reaches inside it.
    frame: UnsafeCell<ManuallyDrop<Ctx>>,
    /// Reads in progress on this thread (nested `with` calls), plus [`PARKED`] while `replace`
    /// has parked retired frames that the last read to end must free.
    reading: Cell<u32>,
    /// Entered ctxflow scopes on this thread (tasks, `scope`, `Snapshot::run`, ...).
    depth: Cell<u32>,
    /// The depth at which the current frame is only lent (see [`run_lent`]), or 0.
    lent_at: Cell<u32>,
    /// The execution id and trigger id of the code running now.
    ids: Cell<(AsyncId, AsyncId)>,
}

/// What needs a destructor, touched only by `replace` and when parked frames are freed.
struct Cold {
    /// Frames retired by `replace` while a read was in progress; freed when reads end.
    retired: UnsafeCell<Vec<FrameRef>>,
}

/// The flag bit of `Hot::reading`: frames are parked in `Cold::retired`.
const PARKED: u32 = 1 << 31;

thread_local! {
    static HOT: Hot = const {
        Hot {
            frame: UnsafeCell::new(ManuallyDrop::new(None)),
            reading: Cell::new(0),
            depth: Cell::new(0),
            lent_at: Cell::new(0),
            ids: Cell::new((AsyncId::ROOT, AsyncId::NONE)),
        }
    };
    static COLD: Cold = const { Cold { retired: UnsafeCell::new(Vec::new()) } };
}

/// Runs `f` with this thread's [`Hot`]. (Not `HOT.with(f)`: the pointer is fetched by a closure
/// small enough that the whole access inlines into `get`/`with` and each poll.)
#[inline(always)]
fn with_hot<R>(f: impl FnOnce(&Hot) -> R) -> R {
    let hot = HOT.with(|h| h as *const Hot);
    // SAFETY: `hot` points to this thread's `Hot`. It has no destructor, so its storage stays
    // valid for the whole life of the thread, and the reference cannot leave this thread
    // (`Hot` is not `Sync`) or outlive `f`.
    f(unsafe { &*hot })
}

impl Drop for Cold {
    /// Thread exit: frees the parked frames and the thread's root frame (the one `set` left at
    /// depth 0; inside scopes the frame always goes back to its owner before the thread ends).
    fn drop(&mut self) {
        drop(std::mem::take(self.retired.get_mut()));
        let _ = HOT.try_with(|h| {
            // SAFETY: single-threaded access, no read is in progress (thread-local destructors
            // run after the thread's code returned). The slot is left as `None`, so the frame
            // is owned exactly once, here; later destructors see the empty context.
            let root = unsafe { std::mem::replace(&mut *h.frame.get(), ManuallyDrop::new(None)) };
            drop(ManuallyDrop::into_inner(root));
        });
    }
}

/// Runs `f` with a reference to the current frame (`None`: the empty context).
#[inline]
pub(crate) fn read<R>(f: impl FnOnce(Option<&Frame>) -> R) -> R {
    with_hot(|h| {
        // SAFETY: `frame` is only accessed from this thread. The shared reference lives just
        // long enough to copy out the frame pointer; every `&mut` to the slot in this module
        // lives for one statement that calls no user code, so none overlaps it.
        let ptr: Option<*const Frame> = unsafe { (*h.frame.get()).as_ref().map(FrameRef::as_ptr) };
        h.reading.set(h.reading.get() + 1);
        let _end = ReadEnd(h);
        // SAFETY: the frame at `ptr` was owned by this thread's slot when we took the pointer.
        // While a read is in progress no code frees it: `swap_in` only moves `FrameRef`s between the
        // slot and guards that hold them until they swap back, and `replace` parks a retired
        // `FrameRef` in `Cold::retired` instead of dropping it. Parked frames are freed only by
        // `ReadEnd` when the count returns to 0, after `f` has returned or unwound. The
        // reference cannot escape `f`, whose signature is generic over its lifetime.
        f(ptr.map(|p| unsafe { &*p }))
    })
}

struct ReadEnd<'a>(&'a Hot);

impl Drop for ReadEnd<'_> {
    #[inline]
    fn drop(&mut self) {
        let n = self.0.reading.get() - 1;
        self.0.reading.set(n);
        if n == PARKED {
            free_parked(self.0);
        }
    }
}

/// The last read ended while frames were parked: free them.
#[cold]
#[inline(never)]
fn free_parked(h: &Hot) {
    h.reading.set(0);
    // SAFETY: no read is in progress on this thread, so no reference into a parked frame
    // exists. The vector is taken out first so that `Drop` code of the values (which may call
    // back into ctxflow) sees a consistent, empty `retired`.
    let parked = COLD.try_with(|c| unsafe { std::mem::take(&mut *c.retired.get()) });
    drop(parked);
}

/// Enters the frame in `slot` one scope deeper (the previous frame goes into `slot`); returns
/// the new depth.
#[inline]
fn push(h: &Hot, slot: &mut Ctx) -> u32 {
    swap_in(h, slot);
    let depth = h.depth.get() + 1;
    h.depth.set(depth);
    depth
}

/// Undoes [`push`] (the frame as the entered code left it goes into `slot`); returns the depth
/// that ended.
#[inline]
fn pop(h: &Hot, slot: &mut Ctx) -> u32 {
    swap_in(h, slot);
    let depth = h.depth.get();
    h.depth.set(depth.saturating_sub(1));
    depth
}

/// Exchanges the current frame with `slot`. Never drops a frame.
#[inline]
fn swap_in(h: &Hot, slot: &mut Ctx) {
    // SAFETY: `h.frame` is only accessed from this thread, and `slot` is a distinct, live
    // `&mut` (it cannot alias the thread-local, which no code hands out). No user code runs
    // during the swap, and no frame is dropped, so in-progress reads stay valid.
    // `ManuallyDrop<Ctx>` has the layout of `Ctx`.
    unsafe { std::ptr::swap(h.frame.get().cast::<Ctx>(), slot) };
}

/// Makes `new` the current frame and retires the old one (used by `set`, after
/// `scope::check_writable` found this thread's storage alive).
pub(crate) fn replace(new: Ctx) {
    // Touching `Cold` registers its destructor, which frees a root frame left at thread exit.
    let cold_alive = COLD.try_with(|_| ()).is_ok();
    let mut slot = new;
    with_hot(|h| {
        swap_in(h, &mut slot);
        if h.lent_at.get() == h.depth.get() && h.depth.get() > 0 {
            // The old frame was lent by a snapshot that keeps it alive (or is the empty
            // context): it was never ours to drop. The new one is owned, so this level is no
            // longer lent.
            h.lent_at.set(0);
            std::mem::forget(slot);
            return;
        }
        let Some(old) = slot else { return };
        let reading = h.reading.get();
        if reading & !PARKED == 0 {
            // Dropped after the slot was updated, so `Drop` code sees the new context.
            drop(old);
        } else if cold_alive {
            // SAFETY: single-threaded access; the `&mut` lives for this statement only.
            let _ = COLD.try_with(|c| unsafe { (*c.retired.get()).push(old) });
            h.reading.set(reading | PARKED);
        } else {
            // Thread teardown with a read in progress on this stack: `check_writable` rules
            // this out; never free a frame a reference may point into.
            std::mem::forget(old);
        }
    });
}

/// A clone of the current frame (one reference-count increment).
pub(crate) fn capture() -> Ctx {
    with_hot(|h| {
        // SAFETY: shared access for the duration of the clone; no `&mut` exists meanwhile
        // and `FrameRef::clone` runs no user code.
        unsafe { (**h.frame.get()).clone() }
    })
}

/// What tasks, blocking jobs and threads spawned now inherit: the current frame without its
/// `not_inherited` variables. One reference-count increment when every variable is inherited
/// (not `capture()` then a filtered copy: that was three atomic operations per spawn).
pub(crate) fn capture_inherited() -> Ctx {
    with_hot(|h| {
        // SAFETY: shared access for the duration of the call; `inheritable` clones `FrameRef`s and
        // values (reference-count increments) and builds a frame, and runs no user code.
        frame::inheritable(unsafe { &*h.frame.get() })
    })
}

/// Runs `f` with `ctx` as the current frame, entered as a scope like [`Entered`] but *lent*:
/// the thread-local holds a bitwise copy of the `FrameRef` without its own reference count, so
/// entering costs no atomic operation (`Snapshot::run_sync` used to clone and drop one, two
/// atomic read-modify-writes per call). `ctx` is borrowed for the whole call, so the frame
/// outlives everything that can see the copy; the copy is never dropped: `replace` (a `set`
/// at this level) forgets it instead of retiring it, and the end of the call forgets it.
#[inline]
pub(crate) fn run_lent<R>(ctx: &Ctx, f: impl FnOnce() -> R) -> R {
    let _lent = Lent::enter(ctx);
    f()
}

/// Restores the caller's frame when a [`run_lent`] call ends, also on unwind.
struct Lent {
    /// The caller's frame while the lent one is current. (`ManuallyDrop`, not `Option::take`
    /// on drop: no drop glue left to run after it, 15 instructions per `run_sync`.)
    prev: ManuallyDrop<Ctx>,
    prev_lent_at: u32,
}

impl Lent {
    #[inline]
    fn enter(ctx: &Ctx) -> Lent {
        // SAFETY: a bitwise copy of `ctx`; see `run_lent` for why it is never dropped while
        // `ctx` (which keeps the count it stands for) is borrowed, and never used after it.
        let mut slot = unsafe { std::ptr::read(ctx) };
        with_hot(|h| {
            let depth = push(h, &mut slot);
            Lent { prev: ManuallyDrop::new(slot), prev_lent_at: h.lent_at.replace(depth) }
        })
    }
}

impl Drop for Lent {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `prev` is taken exactly once, here.
        let mut slot = unsafe { ManuallyDrop::take(&mut self.prev) };
        let still_lent = with_hot(|h| {
            let still_lent = h.lent_at.get() == pop(h, &mut slot);
            h.lent_at.set(self.prev_lent_at);
            still_lent
        });
        if still_lent {
            std::mem::forget(slot); // the lender's copy
        } else {
            drop(slot); // a frame `set` made inside: owned, and no read of it is in progress
        }
    }
}

/// Whether this thread's context storage still exists (false during thread teardown).
pub(crate) fn alive() -> bool {
    COLD.try_with(|_| ()).is_ok()
}

/// Entered ctxflow scopes on this thread.
pub(crate) fn depth() -> u32 {
    with_hot(|h| h.depth.get())
}

/// `(execution id, trigger id)` of the code running now.
pub(crate) fn ids() -> (AsyncId, AsyncId) {
    with_hot(|h| h.ids.get())
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
        let prev_ids = with_hot(|h| {
            push(h, slot);
            ids.map(|new| h.ids.replace(new))
        });
        Entered { slot, prev_ids }
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        with_hot(|h| {
            pop(h, self.slot);
            if let Some(prev) = self.prev_ids {
                h.ids.set(prev);
            }
        });
    }
}

/// Execution and trigger ids made current on this thread; the previous ones come back when
/// dropped (also on unwind). For code entered through [`run_lent`], whose guard carries no ids.
pub(crate) struct IdsEntered {
    prev: (AsyncId, AsyncId),
}

impl IdsEntered {
    #[inline]
    pub(crate) fn new(ids: (AsyncId, AsyncId)) -> IdsEntered {
        IdsEntered { prev: with_hot(|h| h.ids.replace(ids)) }
    }
}

impl Drop for IdsEntered {
    #[inline]
    fn drop(&mut self) {
        with_hot(|h| h.ids.set(self.prev));
    }
}

/// What [`Entered`] does, for code whose start and end run in different callbacks (tokio's
/// before-poll and after-poll hooks, which cannot share a borrow): enters the frame in `slot`
/// (the previous frame goes into `slot`) and makes `ids` current. Returns the ids to hand back
/// to [`leave_detached`], which the caller must call exactly once on this thread, innermost
/// first.
#[cfg(all(feature = "runtime", tokio_unstable))]
pub(crate) fn enter_detached(slot: &mut Ctx, ids: (AsyncId, AsyncId)) -> (AsyncId, AsyncId) {
    with_hot(|h| {
        push(h, slot);
        h.ids.replace(ids)
    })
}

/// Undoes [`enter_detached`]: the entered frame, as the code left it, goes back into `slot`.
#[cfg(all(feature = "runtime", tokio_unstable))]
pub(crate) fn leave_detached(slot: &mut Ctx, prev_ids: (AsyncId, AsyncId)) {
    with_hot(|h| {
        pop(h, slot);
        h.ids.set(prev_ids);
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::frame::{Change, Value, apply};

    fn frame_with(key: u64, v: u32) -> Ctx {
        apply(None, [Change { key, value: Some(Value::new(v)) }]).unwrap()
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

    /// A frame holding `witness` (a clone of it) under key 2.
    fn frame_holding(witness: &Arc<()>) -> Ctx {
        apply(None, [Change { key: 2, value: Some(Value::new(Arc::clone(witness))) }]).unwrap()
    }

    #[test]
    fn a_lent_frame_is_never_dropped_and_frames_set_on_it_are() {
        let lender = frame_with(2, 1);
        let set_inside = Arc::new(());
        let seen = run_lent(&lender, || {
            assert_eq!(current(2), Some(1));
            // Replacing the lent frame during a read: it is the lender's, so it is forgotten,
            // not parked; the frame that replaced it is owned and parked by the second one.
            read(|f| {
                replace(frame_holding(&set_inside));
                replace(frame_with(2, 3));
                assert_eq!(f.unwrap().get(2).unwrap().downcast_ref::<u32>(), Some(&1));
            });
            assert_eq!(Arc::strong_count(&set_inside), 1, "parked, then freed when the read ended");
            // Lent again one level down, replaced there, then back to this level's own frame.
            let inner = run_lent(&lender, || {
                replace(frame_holding(&set_inside));
                current(2)
            });
            assert_eq!(inner, None, "the frame set inside holds a `()`, not a u32");
            assert_eq!(Arc::strong_count(&set_inside), 1, "freed when the inner call ended");
            current(2)
        });
        assert_eq!(seen, Some(3));
        assert_eq!(current(2), None, "the caller's (empty) context is back");
        assert_eq!(FrameRef::count(lender.as_ref().unwrap()), 1, "no count taken or lost");
        // The empty context lent, then replaced twice: both frames set inside are owned.
        run_lent(&None, || {
            replace(frame_holding(&set_inside));
            replace(frame_holding(&set_inside));
            assert_eq!(Arc::strong_count(&set_inside), 2);
        });
        assert_eq!(Arc::strong_count(&set_inside), 1, "nothing set inside leaks");
    }

    #[test]
    fn a_lent_frame_is_given_back_on_unwind() {
        let lender = frame_with(2, 7);
        let mut outer = frame_with(2, 1);
        let _g = Entered::new(&mut outer, None);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_lent(&lender, || {
                assert_eq!(current(2), Some(7));
                panic!("boom");
            })
        }));
        assert!(r.is_err());
        assert_eq!(current(2), Some(1));
        assert_eq!(depth(), 1);
        assert_eq!(FrameRef::count(lender.as_ref().unwrap()), 1);
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
