//! The thread's current context, and the only code that touches it.
//!
//! Every poll of a context-carrying future *moves* its frame into this thread-local and moves
//! it back out when the poll ends, on return and on unwind alike, through [`Entered`]'s `Drop`.
//! Moving a frame touches no reference count and runs no user code, so ctxflow's state is
//! consistent at every point where user code can run (or panic).
//!
//! A read ([`read`]) takes a counted reference to the current frame for its duration, so the
//! frame outlives the read even if the code reading it replaces the current context (a `set`
//! inside `with`) or enters another: re-entrancy needs no special case.
//!
//! The root frame that a `set` outside any scope leaves is released at thread exit; a value's
//! `Drop` that panics there is contained, since a panic in a thread-local destructor aborts the
//! process.

use std::cell::Cell;
use std::mem::ManuallyDrop;

use super::frame::{self, Ctx, Frame};
use crate::contain;
// One thread-local per thread, also per thread of a loom model (`tests/loom_*.rs`).
use crate::sync::thread_local;

/// The thread's context. Nothing in it needs dropping (the frame is in a `ManuallyDrop`), so
/// std never destroys it: it stays usable while other thread-locals are torn down, and a value's
/// `Drop` that runs then can still enter scopes and read them. The root frame a `set` leaves is
/// released by [`Release`] instead.
struct Current {
    frame: Cell<ManuallyDrop<Ctx>>,
    /// Entered ctxflow scopes on this thread (tasks, `scope`, `Snapshot::run`, ...).
    depth: Cell<u32>,
}

/// Releases the root frame at thread exit; registered by the first [`replace`] on a thread.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        // `try_with`: std never destroys `CURRENT` (it needs no drop), but a loom model does.
        if let Ok(root) = CURRENT.try_with(|c| c.swap(None)) {
            contain::drop_quietly("a context value at thread exit", root);
        }
    }
}

thread_local! {
    static CURRENT: Current = const { Current { frame: Cell::new(ManuallyDrop::new(None)), depth: Cell::new(0) } };
    static RELEASE: Release = const { Release };
}

impl Current {
    #[inline]
    fn swap(&self, new: Ctx) -> Ctx {
        ManuallyDrop::into_inner(self.frame.replace(ManuallyDrop::new(new)))
    }
}

/// Runs `f` on the current frame, put back afterwards. `f` must not run user code: while it
/// runs, the thread-local holds the empty context.
#[inline]
fn peek<R>(f: impl FnOnce(&Ctx) -> R) -> R {
    CURRENT.with(|c| {
        let ctx = c.swap(None);
        let r = f(&ctx);
        let _none = c.swap(ctx);
        r
    })
}

/// A counted reference to the current frame.
#[inline]
pub(crate) fn capture() -> Ctx {
    peek(Ctx::clone)
}

/// What tasks, blocking jobs and threads spawned now inherit: the current frame without its
/// `not_inherited` variables.
pub(crate) fn capture_inherited() -> Ctx {
    peek(frame::inheritable)
}

/// Runs `f` with the current frame (`None`: the empty context).
#[inline]
pub(crate) fn read<R>(f: impl FnOnce(Option<&Frame>) -> R) -> R {
    let ctx = capture();
    f(ctx.as_deref())
}

/// Makes `new` the current frame, for the rest of the innermost scope; the old frame is
/// dropped after the thread-local holds the new one, so `Drop` code sees the new context.
/// `Err` once the thread has begun its teardown (see [`alive`]).
pub(crate) fn replace(new: Ctx) -> Result<(), ()> {
    // Registers the releaser of a root frame left at thread exit.
    RELEASE.try_with(|_| ()).map_err(drop)?;
    let old = CURRENT.with(|c| c.swap(new));
    drop(old);
    Ok(())
}

/// Enters the frame in `slot` one scope deeper; the previous frame goes into `slot`.
#[inline]
pub(crate) fn push(slot: &mut Ctx) {
    CURRENT.with(|c| {
        *slot = c.swap(slot.take());
        c.depth.set(c.depth.get() + 1);
    });
}

/// Undoes [`push`]: the frame as the entered code left it goes back into `slot`.
#[inline]
pub(crate) fn pop(slot: &mut Ctx) {
    CURRENT.with(|c| {
        *slot = c.swap(slot.take());
        c.depth.set(c.depth.get().saturating_sub(1));
    });
}

/// Whether a `set` may still leave a root frame on this thread: false once its thread-locals
/// are being torn down, since nothing would release that frame then.
pub(crate) fn alive() -> bool {
    RELEASE.try_with(|_| ()).is_ok()
}

/// Entered ctxflow scopes on this thread.
pub(crate) fn depth() -> u32 {
    CURRENT.with(|c| c.depth.get())
}

/// A context entered on this thread. Dropping it (also during unwinding) puts the previous
/// context back and leaves the frame, as the entered code left it, in `slot`.
pub(crate) struct Entered<'a> {
    slot: &'a mut Ctx,
}

impl<'a> Entered<'a> {
    /// Enters the frame in `slot`.
    #[inline]
    pub(crate) fn new(slot: &'a mut Ctx) -> Self {
        push(slot);
        Entered { slot }
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        pop(self.slot);
    }
}

/// A context owned by a synchronous scope. Dropped during an unwind, a panic in one of its
/// values' `Drop` is contained: a second panic during unwinding would abort the process.
pub(crate) struct Owned(pub(crate) Ctx);

impl Drop for Owned {
    fn drop(&mut self) {
        if std::thread::panicking() {
            contain::drop_quietly("a context value during a panic", self.0.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::frame::{Change, apply};
    use crate::context::value::Value;

    fn frame_with(key: u64, v: u32) -> Ctx {
        apply(None, [Change { key, value: Some(Value::new(v)) }]).unwrap()
    }

    fn current(key: u64) -> Option<u32> {
        read(|f| f?.get(key)?.downcast_ref::<u32>().copied())
    }

    #[test]
    fn replace_during_a_read_keeps_the_read_frame_alive() {
        let mut outer = frame_with(2, 1);
        let _g = Entered::new(&mut outer);
        read(|f| {
            let v = f.unwrap().get(2).unwrap();
            replace(frame_with(2, 2)).unwrap();
            replace(frame_with(2, 3)).unwrap();
            assert_eq!(current(2), Some(3));
            assert_eq!(v.downcast_ref::<u32>(), Some(&1));
        });
        assert_eq!(current(2), Some(3));
    }

    #[test]
    fn entered_restores_on_unwind_and_gives_the_frame_back() {
        let before = current(2);
        let mut slot = frame_with(2, 9);
        let kept = Arc::clone(slot.as_ref().unwrap());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = Entered::new(&mut slot);
            assert_eq!(current(2), Some(9));
            assert_eq!(depth(), 1);
            panic!("boom");
        }));
        assert!(r.is_err());
        assert_eq!(current(2), before);
        assert_eq!(depth(), 0);
        assert!(Arc::ptr_eq(slot.as_ref().unwrap(), &kept), "the entered frame went back to its owner");
    }
}
