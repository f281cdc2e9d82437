//! `Scoped`: a future that runs inside its own context.
//!
//! Modelled on tokio's `TaskLocalFuture` and tracing's `Instrumented`: every poll swaps the
//! future's frame in and out (a guard restores it on return and on unwind), and the inner
//! future is dropped inside its context too, so `Drop` code and cancellation handlers see the
//! values they ran with. Between polls the frame lives in the future, never in a thread-local,
//! which is what keeps concurrent tasks isolated however they migrate between workers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::current::{self, Entered, Owned};
use super::error::SetError;
use super::frame::{self, Change, Ctx};
use super::value::{Shared, Value};

/// Where a scope's frame comes from. Small, since it sits in the future beside the code it
/// runs, and every poll touches both: the changes wait in their most compact form.
enum Slot {
    /// `VAR.scope(v, fut)`: `key` set to `value` on top of whatever context first polls the
    /// future.
    Set { key: u64, value: Shared },
    /// `VAR.exit(fut)`: `key` unset in that context.
    Unset { key: u64 },
    /// `ctxflow::scope(bindings, fut)`: any number of changes, applied in order.
    Many(Box<[Change]>),
    /// A frame fixed in advance (`Snapshot::run`, `in_current_context`), or built on first poll.
    Ready(Ctx),
}

impl Slot {
    #[inline]
    fn ready(&mut self) -> &mut Ctx {
        match self {
            Slot::Ready(ctx) => ctx,
            _ => self.build(),
        }
    }

    /// First poll: applies the changes to the poller's context.
    #[cold]
    fn build(&mut self) -> &mut Ctx {
        let built = match std::mem::replace(self, Slot::Ready(None)) {
            Slot::Set { key, value } => over_current([Change { key, value: Some(Value::shared(value)) }]),
            Slot::Unset { key } => over_current([Change { key, value: None }]),
            Slot::Many(changes) => over_current(changes),
            Slot::Ready(ctx) => ctx,
        };
        *self = Slot::Ready(built);
        match self {
            Slot::Ready(ctx) => ctx,
            _ => unreachable!("just made ready"),
        }
    }

    /// Variables the scope sets or unsets, for `Debug`.
    fn changes(&self) -> usize {
        match self {
            Slot::Set { .. } | Slot::Unset { .. } => 1,
            Slot::Many(changes) => changes.len(),
            Slot::Ready(ctx) => ctx.as_ref().map_or(0, |f| f.len()),
        }
    }
}

pin_project! {
    /// A future running inside its own context: made by [`ContextVar::scope`],
    /// [`ctxflow::scope`](crate::scope()), [`Snapshot::run`] and
    /// [`FutureContextExt::in_current_context`]. With feature `stream`, a stream made by
    /// `StreamContextExt::in_current_context` is one too, and each of its polls runs in its
    /// context.
    ///
    /// Polling it as a future after it completed panics, as most futures do; as a stream after
    /// its end, it answers `None`.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u8> = ctxflow::ContextVar::new("n");
    /// let fut = N.scope(1, async {});
    /// assert_eq!(format!("{fut:?}"), r#"Scoped { state: "not yet polled", variables: 1, .. }"#);
    /// ```
    ///
    /// [`ContextVar::scope`]: crate::ContextVar::scope
    /// [`Snapshot::run`]: crate::Snapshot::run
    /// [`FutureContextExt::in_current_context`]: crate::FutureContextExt::in_current_context
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Scoped<F> {
        slot: Slot,
        #[pin]
        inner: Option<F>,
    }

    impl<F> PinnedDrop for Scoped<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.inner.is_some() {
                let _entered = Entered::new(this.slot.ready());
                this.inner.set(None);
            }
            if std::thread::panicking()
                && let Slot::Ready(ctx) = this.slot
            {
                // Dropped during an unwind: a second panic, from a value's `Drop`, would abort.
                drop(Owned(ctx.take()));
            }
        }
    }
}

impl<F> std::fmt::Debug for Scoped<F> {
    /// The state and the number of variables of the scope's context; not the inner future,
    /// which need not be `Debug`, nor the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.slot {
            Slot::Ready(_) if self.inner.is_some() => "running",
            Slot::Ready(_) => "finished",
            _ => "not yet polled",
        };
        let variables = self.slot.changes();
        f.debug_struct("Scoped").field("state", &state).field("variables", &variables).finish_non_exhaustive()
    }
}

impl<F> Scoped<F> {
    /// `key` set to `value` on top of the context that first polls it.
    pub(crate) fn setting(key: u64, value: Shared, inner: F) -> Self {
        Scoped { slot: Slot::Set { key, value }, inner: Some(inner) }
    }

    /// `key` unset in the context that first polls it.
    pub(crate) fn unsetting(key: u64, inner: F) -> Self {
        Scoped { slot: Slot::Unset { key }, inner: Some(inner) }
    }

    /// `changes` applied to the context that first polls it.
    pub(crate) fn changing(changes: impl IntoIterator<Item = Change>, inner: F) -> Self {
        Scoped { slot: Slot::Many(changes.into_iter().collect()), inner: Some(inner) }
    }

    pub(crate) fn ready(ctx: Ctx, inner: F) -> Self {
        Scoped { slot: Slot::Ready(ctx), inner: Some(inner) }
    }

    /// Runs `poll` on the future or stream inside the scope's context, and drops it there once
    /// `finished` says the answer was its last; `None` if it had finished before.
    #[inline(always)]
    fn poll_inside<R>(
        self: Pin<&mut Self>,
        poll: impl FnOnce(Pin<&mut F>) -> R,
        finished: impl FnOnce(&R) -> bool,
    ) -> Option<R> {
        let mut this = self.project();
        let inner = this.inner.as_mut().as_pin_mut()?;
        let _entered = Entered::new(this.slot.ready());
        let out = poll(inner);
        if finished(&out) {
            this.inner.set(None);
        }
        Some(out)
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.poll_inside(|inner| inner.poll(cx), Poll::is_ready) {
            Some(out) => out,
            None => panic!("`ctxflow::Scoped` polled after completion"),
        }
    }
}

/// A stream polled inside its context: each `poll_next` runs there, as each poll of a future
/// does, and the stream is dropped there once it has ended. Polling it again after the end
/// gives `None`.
#[cfg(feature = "stream")]
impl<S: futures_core::Stream> futures_core::Stream for Scoped<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let ended = |next: &Poll<Option<S::Item>>| matches!(next, Poll::Ready(None));
        self.poll_inside(|inner| inner.poll_next(cx), ended).unwrap_or(Poll::Ready(None))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.as_ref().map_or((0, Some(0)), S::size_hint)
    }
}

/// Terminated once its stream has ended (and been dropped), for `futures::select!` and the like.
#[cfg(feature = "stream")]
impl<S: futures_core::Stream> futures_core::FusedStream for Scoped<S> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

/// Runs `f` with `changes` applied on top of the current context, then restores the previous
/// context (also on unwind).
pub(crate) fn sync_run_with<R>(changes: impl IntoIterator<Item = Change>, f: impl FnOnce() -> R) -> R {
    sync_run_in(over_current(changes), f)
}

/// The current context with `changes` applied (the current frame itself, shared, if they change
/// nothing).
fn over_current(changes: impl IntoIterator<Item = Change>) -> Ctx {
    current::read(|fr| frame::apply(fr, changes)).unwrap_or_else(current::capture)
}

/// Runs `f` inside `ctx`, then restores the caller's context (also on unwind).
pub(crate) fn sync_run_in<R>(ctx: Ctx, f: impl FnOnce() -> R) -> R {
    let mut owned = Owned(ctx);
    let _entered = Entered::new(&mut owned.0);
    f()
}

/// May `set` write here? See [`SetError`].
pub(crate) fn check_writable() -> Result<(), SetError> {
    if !current::alive() {
        return Err(SetError::ThreadExiting);
    }
    // A task whose frame its runtime holds is a scope of its own (see `held.rs`).
    let writer = current::writer();
    if current::depth() == 0 && on_shared_thread() && writer != current::Writer::Held {
        return Err(SetError::NoScope);
    }
    current::writable(writer)
}

/// Whether this thread runs one piece of work after another, each from whoever queued it: a
/// thread of an async runtime (its workers and blocking pool), or of a rayon pool. Its root
/// context would carry a write into the next piece of work.
fn on_shared_thread() -> bool {
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return true;
    }
    #[cfg(feature = "rayon")]
    if rayon::current_thread_index().is_some() {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_scope_adds_little_to_the_future_it_runs() {
        // Each poll touches the slot and the inner future: the less the slot takes, the fewer
        // cache lines a poll of a scoped task misses on.
        let scoped = size_of::<Scoped<std::future::Ready<u8>>>();
        assert!(scoped <= 40, "a scope around a 2-byte future takes {scoped} bytes");
    }

    #[test]
    fn every_kind_of_pending_change_applies_at_first_poll() {
        use crate::ContextVar;
        static A: ContextVar<u8> = ContextVar::new("a");
        static B: ContextVar<u8> = ContextVar::new("b");
        let read = || async { (A.get(), B.get()) };
        let poll = |fut: std::pin::Pin<&mut dyn Future<Output = (Option<u8>, Option<u8>)>>| match fut
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
        {
            Poll::Ready(out) => out,
            Poll::Pending => unreachable!("nothing here waits"),
        };
        crate::sync_scope((A.value(1), B.value(2)), || {
            assert_eq!(poll(std::pin::pin!(A.scope(3, read()))), (Some(3), Some(2)));
            assert_eq!(poll(std::pin::pin!(A.exit(read()))), (None, Some(2)));
            assert_eq!(poll(std::pin::pin!(crate::scope((B.unset(), A.value(4)), read()))), (Some(4), None));
            let fixed = crate::Snapshot::capture();
            assert_eq!(poll(std::pin::pin!(B.scope(5, fixed.run(read())))), (Some(1), Some(2)));
        });
    }
}
