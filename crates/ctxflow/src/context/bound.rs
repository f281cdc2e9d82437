//! Closures bound to a context (`Snapshot::wrap`, `wrap_fn`, `AsyncResource::wrap_fn`): run
//! inside it when called, and dropped inside it.
//!
//! A bound closure owns what it captured, and that state's `Drop` is code of the context the
//! closure was bound to, as a scoped future's is. A callback that is never fired, or a reusable
//! one once it is no longer needed, is dropped by whoever holds it last, in whatever context
//! that code runs: another request's, say. So the state is dropped inside the bound context.

/// Where a bound closure runs.
pub(crate) trait Inside {
    /// Runs `f`, a call of the bound closure.
    fn run<R>(&self, f: impl FnOnce() -> R) -> R;

    /// Runs `f`, which drops the closure's state. Not a call of the closure: an async resource
    /// fires no `before`/`after` for it, as a cancelled task's drop fires none.
    fn drop_inside(&self, f: impl FnOnce());
}

/// A closure and the context it is bound to.
pub(crate) struct Bound<C: Inside, F> {
    context: C,
    /// `None` only once a one-shot closure was called, or while it is dropped.
    f: Option<F>,
}

impl<C: Inside, F> Bound<C, F> {
    pub(crate) fn new(context: C, f: F) -> Self {
        Bound { context, f: Some(f) }
    }

    /// Calls a one-shot closure inside its context.
    pub(crate) fn call_once<R>(mut self) -> R
    where
        F: FnOnce() -> R,
    {
        match self.f.take() {
            Some(f) => self.context.run(f),
            None => unreachable!("the closure is taken only by this call, which consumes it, and by drop"),
        }
    }

    /// Calls a reusable closure inside its context.
    pub(crate) fn call<A, R>(&self, a: A) -> R
    where
        F: Fn(A) -> R,
    {
        match &self.f {
            Some(f) => self.context.run(|| f(a)),
            None => unreachable!("a reusable closure is taken only by drop"),
        }
    }
}

impl<C: Inside, F> Drop for Bound<C, F> {
    fn drop(&mut self) {
        if let Some(f) = self.f.take() {
            self.context.drop_inside(|| drop(f));
        }
    }
}
