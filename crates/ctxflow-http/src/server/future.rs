//! [`ResponseFuture`]: the inner service's future, inside the request's context, and the
//! response it gives, whose body stays in that context.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ctxflow::{Scoped, Snapshot};
use http::header::Entry;
use http::{HeaderName, HeaderValue, Response};
use pin_project_lite::pin_project;

use super::body::ScopedBody;

pin_project! {
    /// The future of [`ServerService`](crate::ServerService): the inner service's future, run
    /// inside the request's context, whose response body is then wrapped in a [`ScopedBody`].
    ///
    /// ```
    /// use tower::{Layer, Service};
    /// let mut svc = ctxflow_http::ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, ()>(http::Response::new(ctxflow_http::REQUEST_ID.get()))
    /// }));
    /// let fut: ctxflow_http::ResponseFuture<_> = svc.call(http::Request::new(()));
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(fut.await.unwrap().into_body().into_inner().is_some());
    /// # });
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Scoped<F>,
        context: Option<Snapshot>,
        echo: Option<(HeaderName, HeaderValue)>,
    }
}

impl<F> ResponseFuture<F> {
    /// `inner` answers inside `context`, which the response's body keeps; `echo` goes on the
    /// response unless the inner service set that header.
    pub(super) fn new(inner: Scoped<F>, context: Snapshot, echo: Option<(HeaderName, HeaderValue)>) -> Self {
        ResponseFuture { inner, context: Some(context), echo }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .field("context", &self.context)
            .field("echo", &self.echo)
            .finish()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ScopedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        if let Some((name, value)) = this.echo.take()
            && let Entry::Vacant(slot) = res.headers_mut().entry(name)
        {
            slot.insert(value);
        }
        let context = this.context.take().unwrap_or_else(Snapshot::empty);
        Poll::Ready(Ok(res.map(|body| ScopedBody::new(body, context))))
    }
}
