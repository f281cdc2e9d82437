//! The thread's current context, and the only code that touches it.
//!
//! Every poll of a context-carrying future *moves* its frame into this thread-local and moves
//! it back out when the poll ends, on return and on unwind alike, through [`Entered`]'s `Drop`.
//! Moving a frame touches no reference count and runs no user code, so ctxflow's state is
//! consistent at every point where user code can run (or panic).
//!
//! A read ([`read`]) borrows the current frame from a `RefCell` for its duration, without
//! touching a reference count: a read is a lookup, never an atomic operation. The code a read
//! runs (the closure of `with`, a value's `Clone` in `get`) may itself enter a scope or `set` a
//! variable, which would replace the borrowed frame. Such a write goes to the *overlay* instead:
//! a stack of frames that hides the borrowed one until the write's scope ends, and that reads
//! take a counted reference from. Writes inside reads are rare, so the overlay is nearly always
//! empty and costs a reader one check.
//!
//! Each entered scope records its owner (see [`Owner`]): a task that finds another's scope
//! entered on its thread (a `LocalSet`'s task, say) reads the empty context there, and its
//! writes are refused.
//!
//! The root frame that a `set` outside any scope leaves is released at thread exit; a value's
//! `Drop` that panics there is contained, since a panic in a thread-local destructor aborts the
//! process.
//!
//! The thread-local and that release are in `state.rs`; entries made by code that cannot wrap
//! what runs inside them (a tracing layer's `on_enter`/`on_exit`) in `external.rs`.

mod external;
mod state;

use self::external::unwind_external;
pub(crate) use self::external::{enter_external, exit_external};
use self::state::{CURRENT, Current, RELEASE};
use super::error::SetError;
use super::frame::{self, Ctx, Frame};
use super::held::{self, Found};
use super::owner::Owner;
use crate::contain;

/// What code that does not own the innermost scope on this thread reads: the frame its runtime
/// holds for it (see `held.rs`), or the empty context; never another's scope. `None` if the
/// runtime entered that frame on the thread instead, as the running code's own scope: the
/// caller then reads it the owner's way. A counted reference, so that nothing is borrowed while
/// the caller runs user code; out of line, so that the owner's path stays small.
#[inline(never)]
fn unowned(running: Owner) -> Option<Ctx> {
    match held::find(running) {
        Found::Nothing => Some(None),
        Found::Frame(ctx) => Some(ctx),
        Found::Entered => None,
    }
}

/// What the running code reads if it does not own the innermost scope on this thread (see
/// [`unowned`]); `None` if it owns it, or does now.
#[inline(always)]
fn unowned_here(c: &Current) -> Option<Ctx> {
    let running = Owner::running();
    if c.owner.get() == running {
        return None;
    }
    unowned(running)
}

/// Runs `f` on the current frame where it is (a shared borrow). `f` must run no user code: a
/// write it made would find its frame borrowed.
#[inline]
fn peek<R>(f: impl FnOnce(&Ctx) -> R) -> R {
    CURRENT.with(|c| {
        if let Some(ctx) = unowned_here(c) {
            return f(&ctx);
        }
        if c.overlaid.get() > 0 {
            return f(c.overlay.borrow().last().unwrap_or(&None));
        }
        f(&c.base.borrow())
    })
}

/// A counted reference to the current frame.
#[inline]
pub(crate) fn capture() -> Ctx {
    peek(Ctx::clone)
}

/// What tasks, blocking jobs and threads spawned now inherit: the current frame without its
/// `not_inherited` variables (one count, or a filtered copy; cloning values runs no user code).
pub(crate) fn capture_inherited() -> Ctx {
    peek(frame::inheritable)
}

/// Runs `f` with the current frame (`None`: the empty context).
#[inline]
pub(crate) fn read<R>(f: impl FnOnce(Option<&Frame>) -> R) -> R {
    CURRENT.with(|c| read_in(c, f))
}

/// [`read`]'s body. Kept out of the closure handed to `with`, so that the closure is small
/// enough for std's `LocalKey::with` to be inlined into every read: the thread-local is then
/// reached at its fixed offset, where an out-of-line `with` calls its accessor indirectly.
///
/// Every read holds `base` borrowed while `f` runs, also when it reads a counted reference
/// instead: what `f` runs then finds a read in progress the same way on every path (writes and
/// entries go to the overlay), whichever frame the read found.
#[inline(never)]
fn read_in<R>(c: &Current, f: impl FnOnce(Option<&Frame>) -> R) -> R {
    if let Some(ctx) = unowned_here(c) {
        return read_counted(c, ctx, f);
    }
    if c.overlaid.get() == 0
        && let Ok(base) = c.base.try_borrow()
    {
        return f(base.as_deref());
    }
    // Frames in the overlay: a counted reference, since code `f` runs may change the overlay.
    read_counted(c, capture(), f)
}

/// Runs `f` on `ctx`, a counted reference, with `base` borrowed as [`read_in`] explains. Out of
/// line, so that the owner's path stays small. The borrow is released before `ctx`, whose drop
/// may run a value's `Drop`.
#[inline(never)]
fn read_counted<R>(c: &Current, ctx: Ctx, f: impl FnOnce(Option<&Frame>) -> R) -> R {
    let _reading = c.base.try_borrow();
    f(ctx.as_deref())
}

/// Makes `new` the current frame, for the rest of the innermost scope; the old frame is
/// dropped after the thread-local holds the new one, so `Drop` code sees the new context.
/// `Err` once the thread has begun its teardown (see [`alive`]).
pub(crate) fn replace(new: Ctx) -> Result<(), ()> {
    if let Some(running) = not_owner() {
        // A task outside its own scopes writes where its frame is held; `writable` refused
        // everyone else. (Dropping the frame it replaced may run user code: nothing is held.)
        return held::replace(running, new).map(drop).map_err(drop);
    }
    // Registers the releaser of a root frame left at thread exit.
    RELEASE.try_with(|_| ()).map_err(drop)?;
    let (old, settled) = CURRENT.with(|c| {
        let settled = if c.overlaid.get() > 0 { c.settle() } else { Vec::new() };
        let old = if c.overlaid.get() > 0 {
            c.overlay.borrow_mut().last_mut().map(|top| std::mem::replace(top, new))
        } else if let Ok(mut base) = c.base.try_borrow_mut() {
            Some(std::mem::replace(&mut **base, new))
        } else {
            // A read in progress holds `base`: the new frame hides it until the innermost scope
            // ends, or until `settle` folds it back.
            c.overlay.borrow_mut().push(new);
            c.overlaid.set(1);
            None
        };
        (old, settled)
    });
    drop((old, settled));
    Ok(())
}

/// What [`pop`] needs to undo a [`push`]: where the frame went, and the owner it replaced.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pushed {
    mode: Mode,
    outer: Owner,
    /// The depth this scope entered at.
    depth: u32,
}

impl Pushed {
    /// The depth the scope entered at.
    pub(crate) fn depth(&self) -> u32 {
        self.depth
    }
}

/// Where [`push`] put a frame, for [`pop`] to take it back from.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Into `base` (the overlay was empty).
    Base,
    /// Onto the overlay, at this index (a read held `base`, or the overlay was in use).
    Overlay { at: usize },
}

/// Enters the frame in `slot` one scope deeper, as `owner`'s; the previous frame goes into
/// `slot` (or, in overlay mode, stays where it is, under the entered one).
#[inline(always)]
pub(crate) fn push(slot: &mut Ctx, owner: Owner) -> Pushed {
    CURRENT.with(|c| {
        let depth = c.depth.get() + 1;
        c.depth.set(depth);
        let outer = c.owner.replace(owner);
        if c.overlaid.get() == 0
            && let Ok(mut base) = c.base.try_borrow_mut()
        {
            *slot = std::mem::replace(&mut **base, slot.take());
            return Pushed { mode: Mode::Base, outer, depth };
        }
        Pushed { mode: push_overlaid(c, slot), outer, depth }
    })
}

/// [`push`] with a read in progress or frames in the overlay.
#[cold]
#[inline(never)]
fn push_overlaid(c: &Current, slot: &mut Ctx) -> Mode {
    let settled = c.settle();
    let mode = if c.overlaid.get() == 0
        && let Ok(mut base) = c.base.try_borrow_mut()
    {
        *slot = std::mem::replace(&mut **base, slot.take());
        Mode::Base
    } else {
        let mut overlay = c.overlay.borrow_mut();
        overlay.push(slot.take());
        c.overlaid.set(overlay.len());
        c.overlay_scopes.set(c.overlay_scopes.get() + 1);
        Mode::Overlay { at: overlay.len() - 1 }
    };
    // A frame `settle` retired is freed with nothing borrowed (its values' `Drop` is user code,
    // which may enter scopes of its own).
    drop(settled);
    mode
}

/// Undoes [`push`]: the frame as the entered code left it goes back into `slot`, and the
/// previous frame is current again.
#[inline(always)]
pub(crate) fn pop(slot: &mut Ctx, pushed: Pushed) {
    // The usual case: the frame went into `base`, and no external entry, overlay frame or read
    // is in the way. Nothing is retired then, so nothing is freed here.
    let done = CURRENT.with(|c| {
        // One test for both counts: this runs on every exit.
        if !matches!(pushed.mode, Mode::Base) || (c.externals.get() | c.overlaid.get()) != 0 {
            return false;
        }
        let Ok(mut base) = c.base.try_borrow_mut() else { return false };
        *slot = std::mem::replace(&mut **base, slot.take());
        c.depth.set(c.depth.get().saturating_sub(1));
        true
    });
    if done {
        // Its own access: inside the closure above, it made the compiler stop inlining `pop`.
        CURRENT.with(|c| c.owner.set(pushed.outer));
    } else {
        pop_slowly(slot, pushed);
    }
}

/// Puts the previous frame back and the frame the scope's (or external entry's) code left into
/// `slot`; returns the frames retired on the way (by `set`s made inside reads).
#[inline(always)]
fn swap_back(c: &Current, slot: &mut Ctx, mode: Mode) -> Vec<Ctx> {
    // A read holds `base` in base mode only when an external entry is left inside a read begun
    // after it: one that held it when a scope was entered would have sent it to the overlay, and
    // the reads begun inside a scope have ended when it ends.
    if let Mode::Base = mode
        && c.overlaid.get() == 0
        && let Ok(mut base) = c.base.try_borrow_mut()
    {
        *slot = std::mem::replace(&mut **base, slot.take());
        return Vec::new();
    }
    pop_overlaid(c, slot, mode)
}

/// [`pop`] off the usual case: frames in the overlay, a read in the way, or external entries on
/// the thread. Of those, the ones made inside this scope and not exited yet end with it, then
/// the scope, then the entries below it that were exited meanwhile.
#[cold]
#[inline(never)]
fn pop_slowly(slot: &mut Ctx, pushed: Pushed) {
    let retired = CURRENT.with(|c| {
        let mut retired = unwind_external(c, pushed.depth, true);
        c.depth.set(c.depth.get().saturating_sub(1));
        retired.extend(swap_back(c, slot, pushed.mode));
        c.owner.set(pushed.outer);
        retired.extend(unwind_external(c, 0, false));
        retired
    });
    // Freed with nothing borrowed.
    drop(retired);
}

/// [`pop`] with frames in the overlay; returns the frames it retires.
#[cold]
#[inline(never)]
fn pop_overlaid(c: &Current, slot: &mut Ctx, mode: Mode) -> Vec<Ctx> {
    let at = match mode {
        Mode::Base => 0,
        Mode::Overlay { at } => {
            c.overlay_scopes.set(c.overlay_scopes.get().saturating_sub(1));
            at
        }
    };
    // Scopes entered inside this one have all been left, so the overlay above `at` holds this
    // scope's frame (overlay mode) and frames of `set`s made inside reads: the last of them is
    // the one the entered code left.
    let mut above: Vec<Ctx> = {
        let mut overlay = c.overlay.borrow_mut();
        let from = at.min(overlay.len());
        let above = overlay.drain(from..).collect();
        c.overlaid.set(overlay.len());
        above
    };
    let left = above.pop();
    if let Mode::Base = mode {
        let Ok(mut base) = c.base.try_borrow_mut() else {
            // A read holds `base`, the frame this entry's code left: only an external entry can
            // be left inside a read begun after it (a scope ends where it was entered). The frame
            // it replaced goes over the borrowed one, so that the read's value stays intact and
            // what runs next sees the entry left; `settle` folds it back once the read has ended.
            let mut overlay = c.overlay.borrow_mut();
            overlay.push(slot.take());
            c.overlaid.set(overlay.len());
            *slot = left.flatten();
            return above;
        };
        let inner = std::mem::replace(&mut **base, slot.take());
        match left {
            Some(top) => {
                above.push(inner);
                *slot = top;
            }
            None => *slot = inner,
        }
        return above;
    }
    *slot = left.flatten();
    above
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

/// Who the running code is to the innermost scope on this thread, for a write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// It entered that scope.
    Owner,
    /// A task outside its own scopes whose frame its runtime holds: its writes go there (see
    /// `held.rs`).
    Held,
    /// Anyone else: its writes are refused.
    Other,
}

/// What the running code is to the innermost scope (one ownership test, and a lookup where
/// the frame is held only when it does not own the scope).
pub(crate) fn writer() -> Writer {
    match not_owner() {
        None => Writer::Owner,
        Some(running) if held::holds(running) => Writer::Held,
        Some(_) => Writer::Other,
    }
}

/// Whether `writer`, the running code, may write into the innermost scope: it owns it or its
/// frame is held, and no hook called since the scope was entered is running.
pub(crate) fn writable(writer: Writer) -> Result<(), SetError> {
    CURRENT.with(|c| {
        let (floor, refusal) = c.write_floor.get();
        if c.depth.get() < floor {
            Err(refusal)
        } else if writer == Writer::Other {
            Err(SetError::NotOwner)
        } else {
            Ok(())
        }
    })
}

/// The running code, if it does not own the innermost scope on this thread.
fn not_owner() -> Option<Owner> {
    let running = Owner::running();
    (CURRENT.with(|c| c.owner.get()) != running).then_some(running)
}

/// Refuses writes into the scopes entered so far with `refusal`, until dropped; scopes entered
/// meanwhile take writes as usual. For code that runs inside a context that is not its own:
/// a hook, inside the context of the code it reports on; a job that a waiting pool thread runs
/// meanwhile, inside the waiter's.
pub(crate) struct WritesRefused {
    outer: (u32, SetError),
}

impl WritesRefused {
    pub(crate) fn enter(refusal: SetError) -> WritesRefused {
        let outer = CURRENT.with(|c| c.write_floor.replace((c.depth.get() + 1, refusal)));
        WritesRefused { outer }
    }
}

impl Drop for WritesRefused {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.write_floor.set(self.outer));
    }
}

/// A context entered on this thread. Dropping it (also during unwinding) puts the previous
/// context back and leaves the frame, as the entered code left it, in `slot`.
pub(crate) struct Entered<'a> {
    slot: &'a mut Ctx,
    pushed: Pushed,
}

impl<'a> Entered<'a> {
    /// Enters the frame in `slot`, as the running code's.
    #[inline]
    pub(crate) fn new(slot: &'a mut Ctx) -> Self {
        let pushed = push(slot, Owner::running());
        Entered { slot, pushed }
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        pop(self.slot, self.pushed);
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
mod tests;
