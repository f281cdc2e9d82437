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
use super::frame::{self, Change, Changes, Ctx};

/// Where a scope's frame comes from.
enum Slot {
    /// `VAR.scope(v, fut)`: apply these changes to whatever context first polls the future.
    Pending(Changes),
    /// A frame fixed in advance (`Snapshot::run`, `in_current_context`), or built on first poll.
    Ready(Ctx),
}

impl Slot {
    #[inline]
    fn ready(&mut self) -> &mut Ctx {
        match self {
            Slot::Ready(ctx) => ctx,
            Slot::Pending(_) => self.build(),
        }
    }

    /// First poll of a `VAR.scope(v, fut)`: applies the changes to the poller's context.
    #[cold]
    fn build(&mut self) -> &mut Ctx {
        if let Slot::Pending(changes) = self {
            let changes = std::mem::take(changes);
            let built = current::read(|f| frame::apply(f, changes)).unwrap_or_else(current::capture);
            *self = Slot::Ready(built);
        }
        match self {
            Slot::Ready(ctx) => ctx,
            Slot::Pending(_) => unreachable!("just made ready"),
        }
    }
}

pin_project! {
    /// A future running inside its own context: made by [`ContextVar::scope`],
    /// [`ctxflow::scope`](crate::scope()), [`Snapshot::run`] and
    /// [`FutureContextExt::in_current_context`].
    ///
    /// Polling it after it completed panics, as most futures do.
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
        let (state, variables) = match &self.slot {
            Slot::Pending(changes) => ("not yet polled", changes.len()),
            Slot::Ready(ctx) if self.inner.is_some() => ("running", ctx.as_ref().map_or(0, |f| f.len())),
            Slot::Ready(ctx) => ("finished", ctx.as_ref().map_or(0, |f| f.len())),
        };
        f.debug_struct("Scoped").field("state", &state).field("variables", &variables).finish_non_exhaustive()
    }
}

impl<F> Scoped<F> {
    pub(crate) fn pending(changes: Changes, inner: F) -> Self {
        Scoped { slot: Slot::Pending(changes), inner: Some(inner) }
    }

    pub(crate) fn ready(ctx: Ctx, inner: F) -> Self {
        Scoped { slot: Slot::Ready(ctx), inner: Some(inner) }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let _entered = Entered::new(this.slot.ready());
        let out = match this.inner.as_mut().as_pin_mut() {
            Some(inner) => inner.poll(cx),
            None => panic!("`ctxflow::Scoped` polled after completion"),
        };
        if out.is_ready() {
            // Drop the finished future inside its context.
            this.inner.set(None);
        }
        out
    }
}

/// Runs `f` with `changes` applied on top of the current context, then restores the previous
/// context (also on unwind).
pub(crate) fn sync_run_with<R>(changes: impl IntoIterator<Item = Change>, f: impl FnOnce() -> R) -> R {
    sync_run_in(current::read(|fr| frame::apply(fr, changes)).unwrap_or_else(current::capture), f)
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
    if current::depth() == 0 && in_async_runtime() && !current::held_here() {
        return Err(SetError::NoScope);
    }
    current::writable()
}

fn in_async_runtime() -> bool {
    #[cfg(feature = "tokio")]
    {
        tokio::runtime::Handle::try_current().is_ok()
    }
    #[cfg(not(feature = "tokio"))]
    {
        false
    }
}
