//! The server half: a tower layer that runs each request inside its own context.
//!
//! The context is built from the request's headers and bound in one frame, and both the
//! inner service's `call` and the future it returns run inside it. Binding per request (not
//! per connection) is what keeps keep-alive connections clean: the connection task itself
//! never holds a request's values, so request N+1 on the same connection starts from nothing
//! of request N. Anything the handler spawns through ctxflow inherits the context.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ctxflow::{Scoped, Snapshot};
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::ScopedBody;
use crate::extract::{ExtractOptions, IncomingContext};

/// Runs every request inside a context holding its [`TRACE`](crate::TRACE),
/// [`BAGGAGE`](crate::BAGGAGE), [`REQUEST_ID`](crate::REQUEST_ID) and declared exports.
///
/// Works with any `tower::Service<http::Request<B>>` answering `http::Response<_>`: an axum
/// `Router` (`.layer(ServerLayer::new())`) or a hyper service through
/// `hyper_util::service::TowerToHyperService`. The response body is wrapped in a
/// [`ScopedBody`] so that a streaming body is polled inside the request's context too.
/// Malformed headers never fail the request (see [`IncomingContext::from_headers`]).
///
/// ```
/// use ctxflow_http::{ServerLayer, REQUEST_ID};
/// use tower::{Layer, Service, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let svc = ServerLayer::new().layer(service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(REQUEST_ID.get().unwrap().to_string()))
/// }));
/// let req = http::Request::builder().header("x-request-id", "r-1").body(()).unwrap();
/// assert_eq!(svc.oneshot(req).await.unwrap().into_body().into_inner(), "r-1");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerLayer {
    options: ExtractOptions,
}

impl ServerLayer {
    /// A layer with the default options (new traces sampled, valid incoming request ids kept).
    ///
    /// ```
    /// use tower::Layer;
    /// let svc = ctxflow_http::ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// # let _ = svc;
    /// ```
    pub fn new() -> Self {
        ServerLayer::default()
    }

    /// Whether traces started here (no valid `traceparent` came in) are marked sampled.
    ///
    /// ```
    /// let layer = ctxflow_http::ServerLayer::new().sample_new_traces(false);
    /// ```
    pub fn sample_new_traces(mut self, sampled: bool) -> Self {
        self.options.sample_new_traces = sampled;
        self
    }

    /// Whether a valid incoming `x-request-id` is kept; with `false` every request gets a
    /// fresh id (for services exposed to untrusted callers).
    ///
    /// ```
    /// let layer = ctxflow_http::ServerLayer::new().accept_request_id(false);
    /// ```
    pub fn accept_request_id(mut self, accept: bool) -> Self {
        self.options.accept_request_id = accept;
        self
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService { inner, options: self.options }
    }
}

/// The service made by [`ServerLayer`].
///
/// ```
/// use tower::{Layer, ServiceExt};
/// let svc: ctxflow_http::ServerService<_> = ctxflow_http::ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
///     Ok::<_, ()>(http::Response::new(ctxflow_http::TRACE.is_set()))
/// }));
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert!(svc.oneshot(http::Request::new(())).await.unwrap().into_body().into_inner());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
    options: ExtractOptions,
}

impl<S, B, ResBody> Service<Request<B>> for ServerService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ScopedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let context = IncomingContext::from_headers(req.headers(), self.options).into_context();
        let inner = &mut self.inner;
        let fut = context.sync_run(|| inner.call(req));
        ResponseFuture { inner: context.run(fut), context: Some(context) }
    }
}

pin_project! {
    /// The future of [`ServerService`]: the inner service's future, run inside the request's
    /// context, whose response body is then wrapped in a [`ScopedBody`].
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
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").field("inner", &self.inner).field("context", &self.context).finish()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ScopedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = std::task::ready!(this.inner.poll(cx))?;
        let context = this.context.take().unwrap_or_else(Snapshot::empty);
        Poll::Ready(Ok(res.map(|body| ScopedBody::new(body, context))))
    }
}
