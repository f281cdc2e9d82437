//! External entries: frames entered by code that cannot wrap what runs inside them (a tracing
//! layer entering a span's context in `on_enter` and leaving it in `on_exit`).

use super::state::{CURRENT, Current, External, RELEASE};
use crate::context::frame::Ctx;
use crate::context::owner::Owner;

/// Enters `frame` one scope deeper for code that cannot wrap what runs inside it (a tracing
/// layer entering a span's context in `on_enter`, leaving it in `on_exit`): the entry lasts
/// until [`exit_external`] with the returned token. Entries may be exited in any order, and a
/// ctxflow scope that ends takes the entries made inside it with it, so an entry left behind
/// (a span guard held across an `.await`) can never outlive the code that was running when it
/// was made. Inside a read, or over frames in the overlay, the frame goes to the overlay, as a
/// scope's does. `Err(frame)` only once the thread has begun its teardown: nothing is entered.
pub(crate) fn enter_external(frame: Ctx) -> Result<u64, Ctx> {
    // Registers the releaser of an entry left at thread exit; none once teardown has begun.
    if RELEASE.try_with(|_| ()).is_err() {
        return Err(frame);
    }
    let (token, settled) = CURRENT.with(|c| {
        let settled = if c.overlaid.get() > 0 { c.settle() } else { Vec::new() };
        let (saved, at) = if c.overlaid.get() == 0
            && let Ok(mut base) = c.base.try_borrow_mut()
        {
            (std::mem::replace(&mut **base, frame), None)
        } else {
            // A read holds `base` (or frames already hide it): the frame hides it in turn, and
            // its leaving takes it off again, whether the read is still in progress or not.
            let mut overlay = c.overlay.borrow_mut();
            overlay.push(frame);
            c.overlaid.set(overlay.len());
            c.overlay_scopes.set(c.overlay_scopes.get() + 1);
            (None, Some(overlay.len() - 1))
        };
        let depth = c.depth.get() + 1;
        c.depth.set(depth);
        let outer = c.owner.replace(Owner::running());
        let token = c.last_token.get() + 1;
        c.last_token.set(token);
        let mut external = c.external.borrow_mut();
        external.push(External { token, depth, saved, at, outer, exited: false });
        c.externals.set(external.len());
        (token, settled)
    });
    // Frames `settle` retired are freed with nothing borrowed (their values' `Drop` is user code).
    drop(settled);
    Ok(token)
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
/// exited them. Each must be the innermost scope when it is left. Returns the frames left, for
/// the caller to drop with nothing borrowed.
#[cold]
#[inline(never)]
pub(super) fn unwind_external(c: &Current, above: u32, abandoned: bool) -> Vec<Ctx> {
    let mut left = Vec::new();
    let mut external = c.external.borrow_mut();
    while let Some(top) = external.last_mut() {
        let due = if abandoned { top.depth > above } else { top.exited };
        if !due || top.depth != c.depth.get() {
            break;
        }
        match top.at {
            // Overlay mode: scopes entered since have ended, so the overlay above `at` holds
            // this entry's frame alone, as the entered code left it.
            Some(at) => {
                let mut overlay = c.overlay.borrow_mut();
                let from = at.min(overlay.len());
                left.extend(overlay.drain(from..));
                c.overlaid.set(overlay.len());
                c.overlay_scopes.set(c.overlay_scopes.get().saturating_sub(1));
            }
            None => {
                // A `set` made inside a read while the entry was current may sit in the
                // overlay: it belongs to the entry, and goes with it.
                if c.overlaid.get() > 0 {
                    left.extend(c.settle());
                }
                if c.overlaid.get() == 0
                    && let Ok(mut base) = c.base.try_borrow_mut()
                {
                    left.push(std::mem::replace(&mut **base, top.saved.take()));
                } else {
                    // Left inside a read, which holds `base`: the entry's frame. The frame it
                    // replaced goes over it in the overlay, so that the read's value stays
                    // intact and what runs next sees the entry left; `settle` folds it back
                    // once the read has ended. Nothing else is in the overlay but the entry's
                    // own `set`s: an entry made over other frames would have gone there itself.
                    let mut overlay = c.overlay.borrow_mut();
                    left.extend(overlay.drain(..));
                    overlay.push(top.saved.take());
                    c.overlaid.set(overlay.len());
                }
            }
        }
        let Some(entry) = external.pop() else { break };
        c.owner.set(entry.outer);
        c.depth.set(entry.depth - 1);
    }
    c.externals.set(external.len());
    left
}
