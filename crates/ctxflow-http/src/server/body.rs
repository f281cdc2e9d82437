//! Response bodies that are polled inside the request's context.
//!
//! hyper polls a response body after the service's future has completed, from the connection
//! task, which holds no request context. A streaming body (server-sent events, a body built
//! from a stream that reads the request id) would otherwise run with nothing set. Wrapping it
//! keeps the rule simple: everything the request's handling runs, the body included, sees the
//! request's context.

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
        #[pin]
        inner: B,
        context: Snapshot,
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
        ScopedBody { inner, context }
    }

    /// The wrapped body.
    ///
    /// ```
    /// let body = ctxflow_http::ScopedBody::new("text", ctxflow::Snapshot::empty());
    /// assert_eq!(body.into_inner(), "text");
    /// ```
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for ScopedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let inner = this.inner;
        this.context.sync_run(|| inner.poll_frame(cx))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
