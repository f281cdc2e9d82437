//! `Task`: the future that a spawned task really runs.
//!
//! It carries the [`Resource`] captured at the spawn call (context and ids) and enters it
//! around every poll, firing `before`/`after` (and `resolve` on the last poll). The inner
//! future is dropped inside its context, on completion or on cancellation, and `destroy`
//! fires right after.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::resource::hooks;
use crate::resource::tracked::Resource;

pin_project! {
    /// A future bound to the context and ids captured when it was spawned.
    pub(crate) struct Task<F> {
        res: Resource,
        #[pin]
        inner: Option<F>,
    }

    impl<F> PinnedDrop for Task<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.inner.is_some() {
                // Cancelled: dropping the future is not a run (no before/after), but its Drop
                // code sees the task's context and ids.
                let _running = this.res.enter_silently();
                this.inner.set(None);
            }
        }
    }
}

impl<F> Task<F> {
    pub(crate) fn new(res: Resource, inner: F) -> Self {
        Task { res, inner: Some(inner) }
    }
}

impl<F: Future> Future for Task<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let id = this.res.id;
        // Left when dropped, after the finished future below.
        let _running = this.res.enter();
        let out = match this.inner.as_mut().as_pin_mut() {
            Some(inner) => inner.poll(cx),
            None => panic!("a ctxflow task was polled after completion"),
        };
        if out.is_ready() {
            hooks::resolve(id);
            this.inner.set(None);
        }
        out
    }
}
