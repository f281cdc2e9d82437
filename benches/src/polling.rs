//! Polling a future by hand, to time one poll without a runtime around it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A future that is never ready: every poll of a scope around it is one enter/exit.
pub struct Forever;

impl Future for Forever {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// Polls `fut` once with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls a future that is ready at its first poll and returns its output.
pub fn run_ready<F: Future>(fut: F) -> Option<F::Output> {
    match poll_once(std::pin::pin!(fut)) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}
