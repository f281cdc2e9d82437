//! Parallel iterators whose closures see the caller's context.
//!
//! Entering the context once around a whole parallel iterator would be wrong: while a worker
//! waits for a stolen half it runs other jobs, which would then see this context. So the
//! adaptor goes through rayon's plumbing instead: it wraps the consumer, and every wrapper
//! (consumer, folder, reducer) enters the context only for one synchronous step: one item,
//! one reduction, making one folder. Each wrapper owns its own handles on the context (cloned
//! when rayon splits the work), so an item costs two pointer swaps and no shared reference
//! count is touched. A `set` in one item is dropped before the next (see [`Held`]).
//!
//! The adaptor is deliberately not an `IndexedParallelIterator`: indexed adaptors that come
//! after it (`zip`, `enumerate`, `chunks`, ...) would pull items through a producer and run
//! the later closures in folders this adaptor never sees. Being unindexed, those adaptors must
//! come before it, and every closure after it is covered. `collect` still sizes its output in
//! advance, since the length is passed on.

use rayon::iter::ParallelIterator;
use rayon::iter::plumbing::{Consumer, Folder, Reducer, UnindexedConsumer};

use crate::context::current;
use crate::context::frame::Ctx;
use crate::context::scope;

/// The captured context, as one wrapper holds it. Each step runs inside it, and a `set` made
/// by a step ends with it.
#[derive(Clone)]
struct Held(Ctx);

impl Held {
    /// Runs `f` inside the context; a `set` made by `f` ends with it.
    #[inline]
    fn within<R>(&self, f: impl FnOnce() -> R) -> R {
        scope::sync_run_in(self.0.clone(), f)
    }
}

/// Adds [`in_current_context`](Self::in_current_context) to every parallel iterator.
pub trait ParallelIteratorExt: ParallelIterator {
    /// Captures the current context now, whole (as `FutureContextExt::in_current_context` and
    /// `Snapshot::capture` do: variables marked `not_inherited` included, since the iterator
    /// finishes before its caller goes on); the closures of the adaptors
    /// that follow (`map`, `filter`, `for_each`, `fold`, `reduce`, ...) run inside it on
    /// whichever thread rayon runs them. Closures of adaptors before it are not covered, and
    /// indexed adaptors (`zip`, `enumerate`, `chunks`, `rev`, ...) cannot follow it, so put
    /// it after those and before the closures: `v.par_iter().enumerate().in_current_context()`.
    ///
    /// A `set` inside a closure lasts for that item only. The execution id is not changed.
    ///
    /// ```
    /// use ctxflow::rayon::ParallelIteratorExt;
    /// use rayon::prelude::*;
    /// static FACTOR: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("factor");
    ///
    /// let total: u64 = FACTOR.sync_scope(3, || {
    ///     (1..=100u64).into_par_iter().in_current_context().map(|x| x * FACTOR.get().unwrap()).sum()
    /// });
    /// assert_eq!(total, 3 * 5050);
    /// ```
    fn in_current_context(self) -> InCurrentContext<Self> {
        InCurrentContext { base: self, ctx: current::capture() }
    }
}

impl<I: ParallelIterator> ParallelIteratorExt for I {}

/// A parallel iterator whose downstream closures run inside a captured context; made by
/// [`ParallelIteratorExt::in_current_context`].
#[must_use = "iterator adaptors are lazy and do nothing unless consumed"]
#[derive(Clone)]
pub struct InCurrentContext<I> {
    base: I,
    ctx: Ctx,
}

impl<I: std::fmt::Debug> std::fmt::Debug for InCurrentContext<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InCurrentContext").field("base", &self.base).finish_non_exhaustive()
    }
}

impl<I: ParallelIterator> ParallelIterator for InCurrentContext<I> {
    type Item = I::Item;

    fn drive_unindexed<C>(self, consumer: C) -> C::Result
    where
        C: UnindexedConsumer<Self::Item>,
    {
        // Every step enters the held context itself; the thread driving the iterator waits for
        // stolen halves outside any context.
        super::outside_any_context(|| self.base.drive_unindexed(InContext { base: consumer, held: Held(self.ctx) }))
    }

    fn opt_len(&self) -> Option<usize> {
        self.base.opt_len()
    }
}

/// A consumer, folder or reducer whose steps run inside the held context.
struct InContext<T> {
    base: T,
    held: Held,
}

impl<T, C: Consumer<T>> Consumer<T> for InContext<C> {
    type Folder = InContext<C::Folder>;
    type Reducer = InContext<C::Reducer>;
    type Result = C::Result;

    fn split_at(self, index: usize) -> (Self, Self, Self::Reducer) {
        let (a, b, r) = self.base.split_at(index);
        let held = self.held;
        (
            InContext { base: a, held: held.clone() },
            InContext { base: b, held: held.clone() },
            InContext { base: r, held },
        )
    }

    fn into_folder(self) -> Self::Folder {
        let base = self.held.within(|| self.base.into_folder());
        InContext { base, held: self.held }
    }

    fn full(&self) -> bool {
        self.base.full()
    }
}

impl<T, C: UnindexedConsumer<T>> UnindexedConsumer<T> for InContext<C> {
    fn split_off_left(&self) -> Self {
        InContext { base: self.base.split_off_left(), held: self.held.clone() }
    }

    fn to_reducer(&self) -> Self::Reducer {
        InContext { base: self.base.to_reducer(), held: self.held.clone() }
    }
}

impl<T, F: Folder<T>> Folder<T> for InContext<F> {
    type Result = F::Result;

    fn consume(self, item: T) -> Self {
        let base = self.held.within(|| self.base.consume(item));
        InContext { base, held: self.held }
    }

    fn consume_iter<It: IntoIterator<Item = T>>(mut self, iter: It) -> Self {
        // Item by item (not the base's batch `consume_iter`), so each item gets a fresh context.
        for item in iter {
            self = self.consume(item);
            if self.full() {
                break;
            }
        }
        self
    }

    fn complete(self) -> F::Result {
        self.held.within(|| self.base.complete())
    }

    fn full(&self) -> bool {
        self.base.full()
    }
}

impl<R, Red: Reducer<R>> Reducer<R> for InContext<Red> {
    fn reduce(self, left: R, right: R) -> R {
        self.held.within(|| self.base.reduce(left, right))
    }
}
