//! Frames that a runtime holds for its tasks, outside any thread.
//!
//! A runtime that propagates context into plain `tokio::spawn` (the `runtime` feature) keeps
//! each task's frame in a side table. Entering that frame on the thread around every poll
//! would cost every poll a lookup and a scope, whether or not the poll reads the context, and
//! most polls do not. tokio names the running task during each poll and during the drop of its
//! future, so the frame is found where it is held instead, by the code that needs it: a read,
//! a capture or a write made while the innermost scope on the thread is not the running task's
//! own (see [`Owner`]). Scopes that the task enters itself are entered on the thread as
//! usual, so the reads inside them take the usual path; and a holder may enter the task's
//! frame on the thread for the rest of a poll that uses it more than once.
//!
//! The holder registers itself once; with none registered, a task that does not own the
//! innermost scope sees the empty context, as it always did.

// Only the runtime registers a holder.
#![cfg_attr(not(all(feature = "runtime", tokio_unstable, not(loom))), allow(dead_code))]

use std::sync::OnceLock;

use super::frame::Ctx;
use super::owner::Owner;

/// What the running task's code finds where its runtime holds its frame.
pub(crate) enum Found {
    /// Nothing holds a frame for it: it sees the empty context.
    Nothing,
    /// A counted reference to its frame.
    Frame(Ctx),
    /// Its frame is now entered on this thread as its own scope, for the rest of its poll: the
    /// caller reads it the usual way.
    Entered,
}

/// Where a runtime holds its tasks' frames. None of its functions may run user code: they are
/// called inside reads and writes of the context (the frames they hand back are dropped by the
/// caller).
pub(crate) struct Holder {
    /// Whether it holds a frame for task `owner`.
    pub(crate) holds: fn(Owner) -> bool,
    /// Replaces the frame of task `owner` with the given one and hands back the previous frame;
    /// `Err` with the given frame for a task not held.
    pub(crate) replace: fn(Owner, Ctx) -> Result<Ctx, Ctx>,
    /// The frame of task `owner`, the running task, for code of it that reads it: a counted
    /// reference, or the frame entered on this thread for the rest of the poll, as the holder
    /// sees fit (it leaves it when the poll ends). No borrow of the thread's context may be held.
    pub(crate) find: fn(Owner) -> Found,
}

static HOLDER: OnceLock<Holder> = OnceLock::new();

/// Makes `holder` the place to look for the frames of tasks that run outside their own scope.
/// There is one per process (one table serves every opted-in runtime): the first stays.
pub(crate) fn hold_with(holder: Holder) {
    let _ = HOLDER.set(holder);
}

/// The frame held for `owner`, the running task, for a read (see [`Holder::find`]).
#[inline]
pub(crate) fn find(owner: Owner) -> Found {
    match HOLDER.get() {
        Some(h) => (h.find)(owner),
        None => Found::Nothing,
    }
}

/// Replaces the frame held for `owner` and hands back the previous one, to be dropped by the
/// caller; `Err` with `new` if nothing holds a frame for it.
pub(crate) fn replace(owner: Owner, new: Ctx) -> Result<Ctx, Ctx> {
    match HOLDER.get() {
        Some(h) => (h.replace)(owner, new),
        None => Err(new),
    }
}

/// Whether anything holds a frame for `owner`.
pub(crate) fn holds(owner: Owner) -> bool {
    HOLDER.get().is_some_and(|h| (h.holds)(owner))
}
