//! Scopes whose writes are forwarded: the frame lives somewhere else between entries, and a
//! `set` made inside must reach that place at once, not when the scope is left.
//!
//! An ordinary scope takes its frame back when it is left, with the writes made inside. That
//! is too late for a holder that another thread may enter again before this thread has left:
//! an opted-in runtime keeps each task's frame in a side table, and tokio can run a task again
//! on another worker before the worker that polled it last has run its after-poll hook. With
//! hooks registered (which must run inside the task's context), such a holder enters a copy of
//! its frame around each poll as a *forwarding* scope; a write into the innermost scope
//! while it is a forwarding one also hands the new frame to the holder's `forward` function,
//! so the holder is never behind, and leaving the scope only has to drop the copy.

// Only the runtime enters forwarding scopes; every write checks for one.
#![cfg_attr(not(all(feature = "runtime", tokio_unstable, not(loom))), allow(dead_code))]

use std::cell::Cell;

use super::current::{self, Pushed};
use super::frame::Ctx;
use super::owner::Owner;
use crate::sync::thread_local;

/// Receives the frame a write left in a forwarding scope entered by `owner`.
pub(crate) type Forward = fn(Owner, Ctx);

/// The innermost forwarding scope on this thread.
#[derive(Clone, Copy)]
struct Forwarding {
    /// The depth it was entered at: writes go through only while it is the innermost scope.
    depth: u32,
    owner: Owner,
    forward: Forward,
}

thread_local! {
    static INNERMOST: Cell<Option<Forwarding>> = const { Cell::new(None) };
}

/// What [`leave`] needs to undo an [`enter`].
#[derive(Clone, Copy)]
pub(crate) struct Entered {
    pushed: Pushed,
    outer: Option<Forwarding>,
}

/// Enters the frame in `slot` as `owner`'s forwarding scope; the previous frame goes into
/// `slot`, as with [`current::push`].
#[inline]
pub(crate) fn enter(slot: &mut Ctx, owner: Owner, forward: Forward) -> Entered {
    let pushed = current::push(slot, owner);
    let this = Forwarding { depth: pushed.depth(), owner, forward };
    let outer = INNERMOST.try_with(|f| f.replace(Some(this))).ok().flatten();
    Entered { pushed, outer }
}

/// Leaves a scope entered by [`enter`]: `slot` gets the frame as the scope's code left it (the
/// holder has it already), and the previous frame is current again.
#[inline]
pub(crate) fn leave(slot: &mut Ctx, entered: Entered) {
    let _ = INNERMOST.try_with(|f| f.set(entered.outer));
    current::pop(slot, entered.pushed);
}

/// Makes `new` the current frame ([`current::replace`]) and, if the innermost scope is a
/// forwarding one, hands it to its holder too.
pub(crate) fn replace(new: Ctx) -> Result<(), ()> {
    let through = INNERMOST.try_with(Cell::get).ok().flatten().filter(|f| f.depth == current::depth());
    match through {
        None => current::replace(new),
        Some(f) => {
            current::replace(new.clone())?;
            (f.forward)(f.owner, new);
            Ok(())
        }
    }
}
