//! The state behind the thread's current context: one thread-local that nothing needs to
//! drop, and the releaser of the frames it still holds at thread exit.

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;

use super::Pushed;
use crate::contain;
use crate::context::error::SetError;
use crate::context::frame::Ctx;
use crate::context::owner::Owner;
// One thread-local per thread, also per thread of a loom model (`tests/loom_*.rs`).
use crate::sync::thread_local;

/// The thread's context: the top of `overlay` if it has any frame, else `base`. Nothing in it
/// needs dropping (the frames are in `ManuallyDrop`s), so std never destroys it: it stays usable
/// while other thread-locals are torn down, and a value's `Drop` that runs then can still enter
/// scopes and read them. The frames it holds at thread exit are released by [`Release`].
pub(super) struct Current {
    /// The current frame while the overlay is empty. Borrowed shared by reads for their whole
    /// duration, mutably only by code that runs no user code.
    pub(super) base: RefCell<ManuallyDrop<Ctx>>,
    /// Frames entered or set while `base` was borrowed by a read in progress; the last one is
    /// current. Borrowed only by code that runs no user code.
    pub(super) overlay: RefCell<ManuallyDrop<Vec<Ctx>>>,
    /// `overlay`'s length, readable without a borrow.
    pub(super) overlaid: Cell<usize>,
    /// Entered scopes and external entries whose frame went to the overlay (see
    /// [`Mode::Overlay`](super::Mode::Overlay)): while there is one, `settle` folds nothing back.
    pub(super) overlay_scopes: Cell<usize>,
    /// Entered ctxflow scopes on this thread (tasks, `scope`, `Snapshot::run`, ...).
    pub(super) depth: Cell<u32>,
    /// Who entered the innermost scope (nobody's for the root frame).
    pub(super) owner: Cell<Owner>,
    /// Frames entered by code that cannot wrap what runs inside them (see [`enter_external`](super::external::enter_external)),
    /// innermost last. Borrowed only by code that runs no user code.
    pub(super) external: RefCell<ManuallyDrop<Vec<External>>>,
    /// `external`'s length, readable without a borrow.
    pub(super) externals: Cell<usize>,
    /// The last token handed out by [`enter_external`](super::external::enter_external) on this thread.
    pub(super) last_token: Cell<u64>,
    /// Writes into scopes below this depth are refused with this error (see
    /// [`WritesRefused`](super::WritesRefused); a depth of 0 refuses nothing).
    pub(super) write_floor: Cell<(u32, SetError)>,
}

/// Releases the frames left at thread exit; registered by the first
/// [`replace`](super::replace) or [`enter_external`](super::external::enter_external) on a thread (only a `set` or an entry never exited leaves a frame behind:
/// scopes always take theirs back).
pub(super) struct Release;

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
    pub(super) static CURRENT: Current = const {
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
            write_floor: Cell::new((0, SetError::NoScope)),
        }
    };
    pub(super) static RELEASE: Release = const { Release };
}

impl Current {
    /// Folds the overlay back into `base` when nothing needs it any more: no scope entered
    /// through it, and no read holding `base`. Only a `set` made inside a read leaves such a
    /// frame; without this, every later read on the thread would take the counted path.
    pub(super) fn settle(&self) -> Vec<Ctx> {
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

/// A frame entered by [`enter_external`](super::external::enter_external).
pub(super) struct External {
    pub(super) token: u64,
    /// Where its frame went, the owner it replaced and the depth it entered at.
    pub(super) pushed: Pushed,
    /// The frame it replaced in `base` (`None` if its frame went to the overlay, where the
    /// frame below stays put).
    pub(super) saved: Ctx,
    /// Its code asked to leave it, but a scope entered after it was still in place.
    pub(super) exited: bool,
}
