//! `Snapshot`: the whole context, captured, to run code in later.
//!
//! A snapshot is one `Arc` to an immutable frame, so capturing costs a reference-count bump
//! and running inside it costs a swap. It is immutable: writes made while running inside it
//! (`set`) stay inside that run and never change the snapshot (TC39 `AsyncContext.Snapshot`
//! and Node's AsyncContextFrame semantics, not Python's mutable `Context`).

use std::future::Future;

use super::bindings::IntoBindings;
use super::bound::{Bound, Inside};
use super::frame::{self, Ctx};
use super::scope::{self, Scoped};
use super::var::ContextVar;
use super::{current, names};

/// A captured context. Node: `AsyncLocalStorage.snapshot()`; TC39: `AsyncContext.Snapshot`.
///
/// ```
/// use ctxflow::{ContextVar, Snapshot};
/// static USER: ContextVar<&str> = ContextVar::new("user");
///
/// let snap = USER.sync_scope("ada", Snapshot::capture);
/// assert_eq!(USER.get(), None);
/// assert_eq!(snap.sync_run(|| USER.get()), Some("ada"));
/// ```
#[derive(Clone, Default)]
pub struct Snapshot {
    ctx: Ctx,
}

impl Snapshot {
    /// The current context.
    pub fn capture() -> Snapshot {
        Snapshot { ctx: current::capture() }
    }

    /// The empty context: every variable unset.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u8> = ctxflow::ContextVar::new("n");
    /// N.sync_scope(1, || assert_eq!(ctxflow::Snapshot::empty().sync_run(|| N.get()), None));
    /// ```
    pub const fn empty() -> Snapshot {
        Snapshot { ctx: None }
    }

    /// The part of the current context that spawned tasks and threads inherit (variables
    /// marked [`not_inherited`](ContextVar::not_inherited) left out).
    pub fn capture_inherited() -> Snapshot {
        Snapshot { ctx: current::capture_inherited() }
    }

    pub(crate) fn from_ctx(ctx: Ctx) -> Snapshot {
        Snapshot { ctx }
    }

    /// This snapshot with `bindings` applied: one new frame however many bindings.
    ///
    /// ```
    /// use ctxflow::{ContextVar, Snapshot};
    /// static A: ContextVar<u8> = ContextVar::new("a");
    /// static B: ContextVar<u8> = ContextVar::new("b");
    /// let snap = Snapshot::empty().with_bindings((A.value(1), B.value(2)));
    /// assert_eq!((snap.get(&A), snap.get(&B)), (Some(1), Some(2)));
    /// ```
    pub fn with_bindings(&self, bindings: impl IntoBindings) -> Snapshot {
        let changes = bindings.into_changes();
        let ctx = frame::apply(self.ctx.as_deref(), changes).unwrap_or_else(|| self.ctx.clone());
        Snapshot { ctx }
    }

    /// The value `var` has in this snapshot (or its default). What the snapshot holds, whatever
    /// is current on this thread: a [`shadowed_by`](ContextVar::shadowed_by) source is not asked.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, var: &ContextVar<T>) -> Option<T> {
        var.value_in(self.ctx.as_deref()).cloned()
    }

    /// The names of the variables set in this snapshot, in no particular order (a variable
    /// with an empty name shows as `#` and a number). For diagnostics: what a context holds,
    /// without its values.
    ///
    /// ```
    /// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
    /// let snap = USER.sync_scope("ada", ctxflow::Snapshot::capture);
    /// assert_eq!(snap.names(), ["user"]);
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.ctx.as_ref().map_or_else(Vec::new, |f| names::of(frame::keys(f)))
    }

    /// Whether no variable is set in this snapshot.
    pub fn is_empty(&self) -> bool {
        self.ctx.is_none()
    }

    /// Whether the current context is empty (no variable set), without capturing it.
    ///
    /// ```
    /// use ctxflow::Snapshot;
    /// static N: ctxflow::ContextVar<u8> = ctxflow::ContextVar::new("n");
    /// assert!(Snapshot::current_is_empty());
    /// assert!(!N.sync_scope(1, Snapshot::current_is_empty));
    /// ```
    pub fn current_is_empty() -> bool {
        current::read(|f| f.is_none())
    }

    /// Enters this snapshot on this thread until the returned guard is dropped, for code that
    /// cannot wrap what runs inside it: a tracing `Layer` that enters a span's context in
    /// `on_enter` and leaves it in `on_exit`, say. Prefer [`sync_run`](Self::sync_run) and
    /// [`run`](Self::run) wherever a closure or a future can be wrapped.
    ///
    /// Guards may be dropped in any order, and a ctxflow scope (a task's poll, a `sync_scope`)
    /// that ends takes the entries made inside it with it: an entry left behind, as by a guard
    /// held across an `.await`, never outlives the code that was running when it was made, and
    /// never reaches another task. A guard that is never dropped (`mem::forget`) leaves its
    /// entry in place until such a scope ends; outside any scope (a plain thread, a rayon job at
    /// its pool thread's root), for the rest of the thread, as a forgotten tracing span guard
    /// does. A `set` made while the entry is current lasts until it ends.
    /// Inside a read (a `with` closure), the entry is made and left as anywhere else, and the
    /// value the read holds stays as it was. `None` only while the thread's thread-locals are
    /// being torn down, where nothing could release the entry: nothing is entered then.
    ///
    /// ```
    /// use ctxflow::{ContextVar, Snapshot};
    /// static USER: ContextVar<&str> = ContextVar::new("user");
    ///
    /// let snap = USER.sync_scope("ada", Snapshot::capture);
    /// let guard = snap.enter().unwrap();
    /// assert_eq!(USER.get(), Some("ada"));
    /// drop(guard);
    /// assert_eq!(USER.get(), None);
    ///
    /// USER.sync_scope("bob", || {
    ///     USER.with(|held| {
    ///         let guard = snap.enter().unwrap();
    ///         assert_eq!(USER.get(), Some("ada"));
    ///         drop(guard);
    ///         assert_eq!(held, Some(&"bob"));
    ///     })
    /// });
    /// ```
    pub fn enter(&self) -> Option<EnteredSnapshot> {
        let token = current::enter_external(self.ctx.clone()).ok()?;
        Some(EnteredSnapshot { token, _not_send: std::marker::PhantomData })
    }

    /// Runs `fut` inside this snapshot (instead of the context that polls it).
    pub fn run<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped::ready(self.ctx.clone(), fut)
    }

    /// Runs `f` inside this snapshot, then restores the caller's context (also on panic).
    pub fn sync_run<R>(&self, f: impl FnOnce() -> R) -> R {
        scope::sync_run_in(self.ctx.clone(), f)
    }

    /// `f`, bound to this snapshot: whoever calls it later, it runs inside this context. If it
    /// is dropped without being called, what `f` captured is dropped inside this context too.
    /// Node: `AsyncLocalStorage.bind(fn)`; TC39: `Snapshot.wrap`.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u8> = ctxflow::ContextVar::new("n");
    /// let cb = N.sync_scope(1, || ctxflow::Snapshot::capture().wrap(|| N.get()));
    /// assert_eq!(N.sync_scope(2, cb), Some(1));
    /// ```
    pub fn wrap<R>(self, f: impl FnOnce() -> R) -> impl FnOnce() -> R {
        let bound = Bound::new(self, f);
        move || bound.call_once()
    }

    /// A reusable callback bound to this snapshot; takes one argument (use a tuple for more).
    /// When it is dropped, what `f` captured is dropped inside this context too.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u8> = ctxflow::ContextVar::new("n");
    /// let add = N.sync_scope(10, || ctxflow::Snapshot::capture().wrap_fn(|x: u8| x + N.get().unwrap()));
    /// assert_eq!((add(1), add(2)), (11, 12));
    /// ```
    pub fn wrap_fn<A, R>(self, f: impl Fn(A) -> R) -> impl Fn(A) -> R {
        let bound = Bound::new(self, f);
        move |a| bound.call(a)
    }
}

impl Inside for Snapshot {
    fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        self.sync_run(f)
    }

    fn drop_inside(&self, f: impl FnOnce()) {
        self.sync_run(f);
    }
}

/// A [`Snapshot`] entered on this thread by [`Snapshot::enter`]; leaving it is dropping it.
/// Not `Send`: an entry belongs to the thread that made it.
#[must_use = "the snapshot is left as soon as the guard is dropped"]
pub struct EnteredSnapshot {
    token: u64,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnteredSnapshot {
    fn drop(&mut self) {
        current::exit_external(self.token);
    }
}

impl std::fmt::Debug for EnteredSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnteredSnapshot").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.ctx.as_ref().map_or(0, |fr| fr.len());
        f.debug_struct("Snapshot").field("variables", &n).finish()
    }
}

/// Binds futures to the context of the code that creates them. (Named apart from the
/// `FutureExt` traits of `futures` and `opentelemetry`, which are often imported beside it.)
pub trait FutureContextExt: Future + Sized {
    /// Captures the current context now; the returned future runs inside it whoever polls it.
    ///
    /// ```
    /// use ctxflow::FutureContextExt;
    /// static N: ctxflow::ContextVar<u8> = ctxflow::ContextVar::new("n");
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let fut = N.sync_scope(1, || async { N.get() }.in_current_context());
    /// assert_eq!(fut.await, Some(1));
    /// # }
    /// ```
    fn in_current_context(self) -> Scoped<Self> {
        Scoped::ready(current::capture(), self)
    }
}

impl<F: Future> FutureContextExt for F {}

/// Binds streams to the context of the code that creates them (feature `stream`). (Named apart
/// from the `StreamExt` traits of `futures` and `tokio-stream`, which are often imported beside
/// it.)
#[cfg(feature = "stream")]
pub trait StreamContextExt: futures_core::Stream + Sized {
    /// Binds the stream to the current context: every poll of it runs inside that context,
    /// wherever it is polled. For a stream handed to code that polls it in another task: a
    /// tonic client's request stream, which hyper's connection task sends, or a stream passed
    /// to a task that serves many requests. A `set` made while it is polled lasts for its later
    /// polls, and its `Drop` runs inside the context too.
    ///
    /// ```
    /// use ctxflow::StreamContextExt;
    /// use futures_core::Stream;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    ///
    /// /// Yields the value of `N` it finds, three times.
    /// struct Reads(u32);
    /// impl Stream for Reads {
    ///     type Item = Option<u32>;
    ///     fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Option<u32>>> {
    ///         self.0 += 1;
    ///         Poll::Ready((self.0 <= 3).then(|| N.get()))
    ///     }
    /// }
    ///
    /// let mut stream = pin!(N.sync_scope(1, || Reads(0).in_current_context()));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// // Polled outside the scope it was made in: it still sees `N = 1`.
    /// assert_eq!(stream.as_mut().poll_next(&mut cx), Poll::Ready(Some(Some(1))));
    /// ```
    fn in_current_context(self) -> Scoped<Self> {
        Scoped::ready(current::capture(), self)
    }
}

#[cfg(feature = "stream")]
impl<S: futures_core::Stream> StreamContextExt for S {}
