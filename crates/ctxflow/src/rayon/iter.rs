//! Parallel iterators whose closures see the caller's context.
//!
//! Entering the context once around a whole parallel iterator would be wrong: while a worker
//! waits for a stolen half it runs other jobs, which would then see this context. So the
//! adaptor goes through rayon's plumbing instead. It wraps the consumer (and, when a later
//! adaptor asks for a producer, the producer), and every wrapper enters the context only for
//! the duration of one synchronous step: folding a batch of items, consuming one item,
//! reducing two results, producing the next item. Each wrapper owns its own handle on the
//! context (cloned when rayon splits the work), so entering it costs a pointer swap and no
//! shared reference count is touched per item.

use rayon::iter::plumbing::{Consumer, Folder, Producer, ProducerCallback, Reducer, UnindexedConsumer};
use rayon::iter::{IndexedParallelIterator, ParallelIterator};

use crate::current::{self, Entered};
use crate::frame::{self, Ctx};

/// Runs `f` inside `ctx` (as a scope of its own: a `set` in `f` ends with it).
#[inline]
fn within<R>(ctx: &mut Ctx, f: impl FnOnce() -> R) -> R {
    let _entered = Entered::new(ctx, None);
    f()
}

/// Adds [`in_current_context`](Self::in_current_context) to every parallel iterator.
pub trait ParallelIteratorExt: ParallelIterator {
    /// Captures the inheritable part of the current context now; the closures of the adaptors
    /// that follow (`map`, `filter`, `for_each`, `fold`, `reduce`, ...) run inside it on
    /// whichever thread rayon runs them. Place it right after the source, since closures of
    /// adaptors before it are not covered: `v.par_iter().in_current_context().map(..)`.
    ///
    /// A `set` inside a closure lasts for that call only. The execution id is not changed.
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
        InCurrentContext { base: self, ctx: frame::inheritable(&current::capture()) }
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
        self.base.drive_unindexed(InContext { base: consumer, ctx: self.ctx })
    }

    fn opt_len(&self) -> Option<usize> {
        self.base.opt_len()
    }
}

impl<I: IndexedParallelIterator> IndexedParallelIterator for InCurrentContext<I> {
    fn drive<C: Consumer<Self::Item>>(self, consumer: C) -> C::Result {
        self.base.drive(InContext { base: consumer, ctx: self.ctx })
    }

    fn len(&self) -> usize {
        self.base.len()
    }

    fn with_producer<CB: ProducerCallback<Self::Item>>(self, callback: CB) -> CB::Output {
        self.base.with_producer(InContext { base: callback, ctx: self.ctx })
    }
}

/// A piece of rayon's plumbing (consumer, folder, reducer, producer, producer callback or
/// sequential iterator) whose steps run inside `ctx`.
struct InContext<T> {
    base: T,
    ctx: Ctx,
}

impl<T> InContext<T> {
    fn split(ctx: Ctx, (a, b): (T, T)) -> (Self, Self) {
        (InContext { base: a, ctx: ctx.clone() }, InContext { base: b, ctx })
    }
}

impl<T, C: Consumer<T>> Consumer<T> for InContext<C> {
    type Folder = InContext<C::Folder>;
    type Reducer = InContext<C::Reducer>;
    type Result = C::Result;

    fn split_at(self, index: usize) -> (Self, Self, Self::Reducer) {
        let (a, b, r) = self.base.split_at(index);
        let (a, b) = InContext::split(self.ctx.clone(), (a, b));
        (a, b, InContext { base: r, ctx: self.ctx })
    }

    fn into_folder(mut self) -> Self::Folder {
        let base = within(&mut self.ctx, || self.base.into_folder());
        InContext { base, ctx: self.ctx }
    }

    fn full(&self) -> bool {
        self.base.full()
    }
}

impl<T, C: UnindexedConsumer<T>> UnindexedConsumer<T> for InContext<C> {
    fn split_off_left(&self) -> Self {
        InContext { base: self.base.split_off_left(), ctx: self.ctx.clone() }
    }

    fn to_reducer(&self) -> Self::Reducer {
        InContext { base: self.base.to_reducer(), ctx: self.ctx.clone() }
    }
}

impl<T, F: Folder<T>> Folder<T> for InContext<F> {
    type Result = F::Result;

    fn consume(mut self, item: T) -> Self {
        let base = within(&mut self.ctx, || self.base.consume(item));
        InContext { base, ctx: self.ctx }
    }

    fn consume_iter<It: IntoIterator<Item = T>>(mut self, iter: It) -> Self {
        let base = within(&mut self.ctx, || self.base.consume_iter(iter));
        InContext { base, ctx: self.ctx }
    }

    fn complete(mut self) -> F::Result {
        within(&mut self.ctx, || self.base.complete())
    }

    fn full(&self) -> bool {
        self.base.full()
    }
}

impl<R, Red: Reducer<R>> Reducer<R> for InContext<Red> {
    fn reduce(mut self, left: R, right: R) -> R {
        within(&mut self.ctx, || self.base.reduce(left, right))
    }
}

impl<T, CB: ProducerCallback<T>> ProducerCallback<T> for InContext<CB> {
    type Output = CB::Output;

    fn callback<P: Producer<Item = T>>(self, producer: P) -> CB::Output {
        self.base.callback(InContext { base: producer, ctx: self.ctx })
    }
}

impl<P: Producer> Producer for InContext<P> {
    type Item = P::Item;
    type IntoIter = InContext<P::IntoIter>;

    fn into_iter(self) -> Self::IntoIter {
        InContext { base: self.base.into_iter(), ctx: self.ctx }
    }

    fn min_len(&self) -> usize {
        self.base.min_len()
    }

    fn max_len(&self) -> usize {
        self.base.max_len()
    }

    fn split_at(self, index: usize) -> (Self, Self) {
        InContext::split(self.ctx, self.base.split_at(index))
    }

    fn fold_with<F: Folder<Self::Item>>(mut self, folder: F) -> F {
        within(&mut self.ctx, || self.base.fold_with(folder))
    }
}

impl<It: Iterator> Iterator for InContext<It> {
    type Item = It::Item;

    fn next(&mut self) -> Option<It::Item> {
        within(&mut self.ctx, || self.base.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.base.size_hint()
    }
}

impl<It: DoubleEndedIterator> DoubleEndedIterator for InContext<It> {
    fn next_back(&mut self) -> Option<It::Item> {
        within(&mut self.ctx, || self.base.next_back())
    }
}

impl<It: ExactSizeIterator> ExactSizeIterator for InContext<It> {
    fn len(&self) -> usize {
        self.base.len()
    }
}
