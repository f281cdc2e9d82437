//! External entries: frames entered by code that cannot wrap what runs inside them (a tracing
//! layer entering a span's context in `on_enter` and leaving it in `on_exit`).

use super::state::{CURRENT, Current, External, RELEASE};
use super::{push, swap_back};
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
    // Entered as a scope is; `saved` is then the frame it replaced in `base` (none if it went to
    // the overlay).
    let mut saved = frame;
    let pushed = push(&mut saved, Owner::running());
    CURRENT.with(|c| {
        let token = c.last_token.get() + 1;
        c.last_token.set(token);
        let mut external = c.external.borrow_mut();
        external.push(External { token, pushed, saved, exited: false });
        c.externals.set(external.len());
        Ok(token)
    })
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
        let due = if abandoned { top.pushed.depth > above } else { top.exited };
        if !due || top.pushed.depth != c.depth.get() {
            break;
        }
        // Left as a scope is: the frame it replaced is current again, and the frame its code
        // left, with the `set`s made inside reads while it was current, is retired.
        let mut slot = top.saved.take();
        left.extend(swap_back(c, &mut slot, top.pushed.mode));
        left.push(slot);
        let Some(entry) = external.pop() else { break };
        c.owner.set(entry.pushed.outer);
        c.depth.set(entry.pushed.depth - 1);
    }
    c.externals.set(external.len());
    left
}
