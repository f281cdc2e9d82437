//! Response bodies that are polled inside the request's context.
//!
//! hyper polls a response body after the service's future has completed, from the connection
//! task, which holds no request context. A streaming body (server-sent events, a body built
//! from a stream that reads the request id) would otherwise run with nothing set. Wrapping it
//! keeps the rule simple: everything the request's handling runs, the body included, sees the
//! request's context. That includes the body's `Drop`: hyper drops a body it has not finished
//! when the client goes away, and the code that then runs (a stream's cleanup, a guard that
//! logs the disconnect) belongs to the request as much as its polls do.

use std::pin::Pin;
use std::task::{Context, Poll};

use ctxflow::Snapshot;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// A response body polled inside the context of the request it answers (made by
    /// [`ServerLayer`](crate::ServerLayer)). Same data, errors and size hints as the body it
    /// wraps.
    ///
    /// ```
    /// use http_body_util::BodyExt;
    /// use ctxflow_http::{ScopedBody, REQUEST_ID, RequestId};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let body = REQUEST_ID.sync_scope(RequestId::generate(), || {
    ///     ScopedBody::new(http_body_util::Full::new(&b"hi"[..]), ctxflow::Snapshot::capture())
    /// });
    /// assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"hi");
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct ScopedBody<B> {
        // `None` only once taken by `into_inner`, or dropped.
        #[pin]
        inner: Option<B>,
        context: Snapshot,
        // It gave its last frame: it is not polled again.
        ended: bool,
    }

    impl<B> PinnedDrop for ScopedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.inner.is_some() {
                let context: &Snapshot = this.context;
                context.sync_run(|| this.inner.set(None));
            }
        }
    }
}

impl<B> ScopedBody<B> {
    /// `inner`, polled inside `context`.
    ///
    /// ```
    /// let body = ctxflow_http::ScopedBody::new((), ctxflow::Snapshot::capture());
    /// assert_eq!(body.into_inner(), ());
    /// ```
    pub fn new(inner: B, context: Snapshot) -> Self {
        ScopedBody { inner: Some(inner), context, ended: false }
    }

    /// The wrapped body.
    ///
    /// ```
    /// let body = ctxflow_http::ScopedBody::new("text", ctxflow::Snapshot::empty());
    /// assert_eq!(body.into_inner(), "text");
    /// ```
    pub fn into_inner(mut self) -> B {
        match self.inner.take() {
            Some(inner) => inner,
            None => unreachable!("only `into_inner` and `Drop` take the body, and both consume it"),
        }
    }
}

impl<B: Body> Body for ScopedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        let Some(mut inner) = this.inner.as_pin_mut() else { return Poll::Ready(None) };
        let ended = this.ended;
        this.context.sync_run(|| {
            let frame = inner.as_mut().poll_frame(cx);
            // Asked while the context is entered, so that the poll hyper makes to find the end
            // of a body that has said so (a whole body, after its only frame) enters it no more.
            *ended = match &frame {
                Poll::Ready(None) => true,
                Poll::Ready(Some(Ok(_))) => inner.is_end_stream(),
                Poll::Ready(Some(Err(_))) | Poll::Pending => false,
            };
            frame
        })
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.as_ref().is_none_or(B::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) if !self.ended => inner.size_hint(),
            _ => SizeHint::with_exact(0),
        }
    }
}
