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

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;

use super::error::SetError;
use super::frame::{self, Ctx, Frame};
use super::owner::Owner;
use crate::contain;
// One thread-local per thread, also per thread of a loom model (`tests/loom_*.rs`).
use crate::sync::thread_local;

/// The thread's context: the top of `overlay` if it has any frame, else `base`. Nothing in it
/// needs dropping (the frames are in `ManuallyDrop`s), so std never destroys it: it stays usable
/// while other thread-locals are torn down, and a value's `Drop` that runs then can still enter
/// scopes and read them. The frames it holds at thread exit are released by [`Release`].
struct Current {
    /// The current frame while the overlay is empty. Borrowed shared by reads for their whole
    /// duration, mutably only by code that runs no user code.
    base: RefCell<ManuallyDrop<Ctx>>,
    /// Frames entered or set while `base` was borrowed by a read in progress; the last one is
    /// current. Borrowed only by code that runs no user code.
    overlay: RefCell<ManuallyDrop<Vec<Ctx>>>,
    /// `overlay`'s length, readable without a borrow.
    overlaid: Cell<usize>,
    /// Entered scopes whose frame went to the overlay (see [`Mode::Overlay`]).
    overlay_scopes: Cell<usize>,
    /// Entered ctxflow scopes on this thread (tasks, `scope`, `Snapshot::run`, ...).
    depth: Cell<u32>,
    /// Who entered the innermost scope (nobody's for the root frame).
    owner: Cell<Owner>,
    /// Frames entered by code that cannot wrap what runs inside them (see [`enter_external`]),
    /// innermost last. Borrowed only by code that runs no user code.
    external: RefCell<ManuallyDrop<Vec<External>>>,
    /// `external`'s length, readable without a borrow.
    externals: Cell<usize>,
    /// The last token handed out by [`enter_external`] on this thread.
    last_token: Cell<u64>,
    /// While hooks run: one more than the depth at which they were called, so that a write
    /// into a scope entered before them is refused (0: no hook running).
    hook_floor: Cell<u32>,
}

/// Releases the frames left at thread exit; registered by the first [`replace`] or
/// [`enter_external`] on a thread (only a `set` or an entry never exited leaves a frame behind:
/// scopes always take theirs back).
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        // `try_with`: std never destroys `CURRENT` (it needs no drop), but a loom model does.
        let left = CURRENT.try_with(|c| {
            let base = c.base.try_borrow_mut().map(|mut b| b.take()).ok().flatten();
            let overlay = c.overlay.try_borrow_mut().map(|mut o| std::mem::take(&mut **o)).unwrap_or_default();
            c.overlaid.set(0);
            let external: Vec<Ctx> = c
                .external
                .try_borrow_mut()
                .map(|mut e| std::mem::take(&mut **e).into_iter().map(|e| e.saved).collect())
                .unwrap_or_default();
            c.externals.set(0);
            (base, overlay, external)
        });
        if let Ok(left) = left {
            contain::drop_quietly("a context value at thread exit", left);
        }
    }
}

thread_local! {
    static CURRENT: Current = const {
        Current {
            base: RefCell::new(ManuallyDrop::new(None)),
            overlay: RefCell::new(ManuallyDrop::new(Vec::new())),
            overlaid: Cell::new(0),
            overlay_scopes: Cell::new(0),
            depth: Cell::new(0),
            owner: Cell::new(Owner::NOBODY),
            external: RefCell::new(ManuallyDrop::new(Vec::new())),
            externals: Cell::new(0),
            last_token: Cell::new(0),
            hook_floor: Cell::new(0),
        }
    };
    static RELEASE: Release = const { Release };
}

impl Current {
    /// Whether the running code owns the innermost scope, and so may see it.
    #[inline]
    fn owned(&self) -> bool {
        self.owner.get() == Owner::running()
    }

    /// Folds the overlay back into `base` when nothing needs it any more: no scope entered
    /// through it, and no read holding `base`. Only a `set` made inside a read leaves such a
    /// frame; without this, every later read on the thread would take the counted path.
    fn settle(&self) -> Vec<Ctx> {
        if self.overlaid.get() == 0 || self.overlay_scopes.get() > 0 {
            return Vec::new();
        }
        let Ok(mut base) = self.base.try_borrow_mut() else { return Vec::new() };
        let mut overlay = self.overlay.borrow_mut();
        let top = overlay.pop().flatten();
        let mut retired: Vec<Ctx> = overlay.drain(..).collect();
        self.overlaid.set(0);
        retired.push(std::mem::replace(&mut **base, top));
        // Dropped by the caller once nothing is borrowed.
        retired
    }
}

/// Runs `f` on the current frame where it is (a shared borrow). `f` must run no user code: a
/// write it made would find its frame borrowed.
#[inline]
fn peek<R>(f: impl FnOnce(&Ctx) -> R) -> R {
    CURRENT.with(|c| {
        if !c.owned() {
            return f(&None);
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
    CURRENT.with(|c| {
        if !c.owned() {
            return f(None);
        }
        if c.overlaid.get() == 0
            && let Ok(base) = c.base.try_borrow()
        {
            return f(base.as_deref());
        }
        // Frames in the overlay: a counted reference, since code `f` runs may change the overlay.
        let ctx = capture();
        f(ctx.as_deref())
    })
}

/// Makes `new` the current frame, for the rest of the innermost scope; the old frame is
/// dropped after the thread-local holds the new one, so `Drop` code sees the new context.
/// `Err` once the thread has begun its teardown (see [`alive`]).
pub(crate) fn replace(new: Ctx) -> Result<(), ()> {
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
        if !matches!(pushed.mode, Mode::Base) || c.externals.get() > 0 || c.overlaid.get() > 0 {
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

/// [`pop`] with external entries, frames in the overlay, or a read in the way.
#[cold]
#[inline(never)]
fn pop_slowly(slot: &mut Ctx, pushed: Pushed) {
    let Pushed { mode, outer, .. } = pushed;
    let retired = CURRENT.with(|c| {
        if c.externals.get() > 0 {
            return None; // `pop_with_entries`, below
        }
        c.depth.set(c.depth.get().saturating_sub(1));
        let retired = swap_back(c, slot, mode);
        c.owner.set(outer);
        Some(retired)
    });
    match retired {
        // Frames retired on the way (by `set`s made inside reads), freed with nothing borrowed.
        Some(retired) => drop(retired),
        None => pop_with_entries(slot, pushed),
    }
}

/// Puts the previous frame back and the frame the scope's code left into `slot`; returns the
/// frames retired on the way (by `set`s made inside reads).
#[inline(always)]
fn swap_back(c: &Current, slot: &mut Ctx, mode: Mode) -> Vec<Ctx> {
    // No read holds `base` in base mode: one that did when this scope was entered would have
    // sent it to the overlay, and the reads begun inside have ended.
    if let Mode::Base = mode
        && c.overlaid.get() == 0
        && let Ok(mut base) = c.base.try_borrow_mut()
    {
        *slot = std::mem::replace(&mut **base, slot.take());
        return Vec::new();
    }
    pop_overlaid(c, slot, mode)
}

/// [`pop`] with external entries on the thread: those made inside this scope and not exited
/// yet end with it, then the scope, then the entries below it that were exited meanwhile.
#[cold]
#[inline(never)]
fn pop_with_entries(slot: &mut Ctx, pushed: Pushed) {
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
    if let Mode::Base = mode
        && let Ok(mut base) = c.base.try_borrow_mut()
    {
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

/// A frame entered by [`enter_external`].
struct External {
    token: u64,
    /// The depth it entered at.
    depth: u32,
    /// The frame it replaced.
    saved: Ctx,
    /// The owner it replaced.
    outer: Owner,
    /// Its code asked to leave it, but a scope entered after it was still in place.
    exited: bool,
}

/// Enters `frame` one scope deeper for code that cannot wrap what runs inside it (a tracing
/// layer entering a span's context in `on_enter`, leaving it in `on_exit`): the entry lasts
/// until [`exit_external`] with the returned token. Entries may be exited in any order, and a
/// ctxflow scope that ends takes the entries made inside it with it, so an entry left behind
/// (a span guard held across an `.await`) can never outlive the code that was running when it
/// was made. `Err(frame)` while a read is in progress or writes made inside one are pending:
/// the frame is not entered.
pub(crate) fn enter_external(frame: Ctx) -> Result<u64, Ctx> {
    // Registers the releaser of an entry left at thread exit; none once teardown has begun.
    if RELEASE.try_with(|_| ()).is_err() {
        return Err(frame);
    }
    let (entered, settled) = CURRENT.with(|c| {
        let settled = if c.overlaid.get() > 0 { c.settle() } else { Vec::new() };
        if c.overlaid.get() > 0 {
            return (Err(frame), settled);
        }
        let Ok(mut base) = c.base.try_borrow_mut() else { return (Err(frame), settled) };
        let depth = c.depth.get() + 1;
        c.depth.set(depth);
        let saved = std::mem::replace(&mut **base, frame);
        let outer = c.owner.replace(Owner::running());
        let token = c.last_token.get() + 1;
        c.last_token.set(token);
        let mut external = c.external.borrow_mut();
        external.push(External { token, depth, saved, outer, exited: false });
        c.externals.set(external.len());
        (Ok(token), settled)
    });
    // Frames `settle` retired are freed with nothing borrowed (their values' `Drop` is user code).
    drop(settled);
    entered
}

/// Leaves the entry `token` of [`enter_external`]: at once if it is the innermost scope,
/// otherwise as soon as the scopes entered after it have ended. A token already taken away by
/// a scope that ended is ignored.
pub(crate) fn exit_external(token: u64) {
    let retired = CURRENT.try_with(|c| {
        if let Some(entry) = c.external.borrow_mut().iter_mut().find(|e| e.token == token) {
            entry.exited = true;
        }
        unwind_external(c, 0, false)
    });
    drop(retired);
}

/// Leaves the innermost external entries, from the top down: those entered deeper than
/// `above` when `abandoned` (a scope at depth `above` is ending), otherwise those whose code
/// exited them. Each must be the innermost scope when it is left, and nothing may hold the
/// current frame. Returns the frames left, for the caller to drop with nothing borrowed.
#[cold]
#[inline(never)]
fn unwind_external(c: &Current, above: u32, abandoned: bool) -> Vec<Ctx> {
    let mut left = Vec::new();
    let mut external = c.external.borrow_mut();
    while let Some(top) = external.last() {
        let due = if abandoned { top.depth > above } else { top.exited };
        if !due || top.depth != c.depth.get() {
            break;
        }
        // A `set` made inside a read while the entry was current may sit in the overlay: it
        // belongs to the entry, and goes with it.
        if c.overlaid.get() > 0 {
            left.extend(c.settle());
            if c.overlaid.get() > 0 {
                break;
            }
        }
        let Ok(mut base) = c.base.try_borrow_mut() else { break };
        let Some(entry) = external.pop() else { break };
        left.push(std::mem::replace(&mut **base, entry.saved));
        c.owner.set(entry.outer);
        c.depth.set(entry.depth - 1);
    }
    c.externals.set(external.len());
    left
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

/// Whether the running code may write into the innermost scope: it entered it, and no hook
/// called since it was entered is running.
pub(crate) fn writable() -> Result<(), SetError> {
    CURRENT.with(|c| {
        if c.depth.get() < c.hook_floor.get() {
            Err(SetError::InHook)
        } else if !c.owned() {
            Err(SetError::NotOwner)
        } else {
            Ok(())
        }
    })
}

/// Refuses writes into the scopes entered so far, until dropped: hooks run inside the context
/// of the code they report on, which is not theirs to change.
pub(crate) struct HookRunning {
    outer_floor: u32,
}

impl HookRunning {
    pub(crate) fn enter() -> HookRunning {
        let outer_floor = CURRENT.with(|c| c.hook_floor.replace(c.depth.get() + 1));
        HookRunning { outer_floor }
    }
}

impl Drop for HookRunning {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.hook_floor.set(self.outer_floor));
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
#[path = "current_tests.rs"]
mod tests;
