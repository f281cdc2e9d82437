//! The server half: a tower layer that runs each request inside its own context.
//!
//! The context is built from the request's headers and bound in one frame, and both the
//! inner service's `call` and the future it returns run inside it. Binding per request (not
//! per connection) is what keeps keep-alive connections clean: the connection task itself
//! never holds a request's values, so request N+1 on the same connection starts from nothing
//! of request N. Anything the handler spawns through ctxflow inherits the context.

mod body;

pub use self::body::ScopedBody;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ctxflow::{ContextVar, Scoped, Snapshot};
use http::header::Entry;
use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::context::bound_headers::BoundHeaders;
use crate::propagation::extract::{ExtractOptions, IncomingContext};
use crate::wire::request_id::RequestId;

/// Runs every request inside a context holding its [`TRACE`](crate::TRACE),
/// [`BAGGAGE`](crate::BAGGAGE), [`REQUEST_ID`](crate::REQUEST_ID) and declared exports.
///
/// Works with any `tower::Service<http::Request<B>>` answering `http::Response<_>`: an axum
/// `Router` (`.layer(ServerLayer::new())`) or a hyper service through
/// `hyper_util::service::TowerToHyperService`. The response body is wrapped in a
/// [`ScopedBody`] so that a streaming body is polled inside the request's context too.
/// Malformed headers never fail the request (see [`IncomingContext::from_headers`]).
///
/// The request id the layer settles on (the caller's when valid and accepted, else a new one)
/// is also written into the request's own header before the inner service sees it, so layers
/// inside it, such as tower-http's `SetRequestIdLayer` and `PropagateRequestIdLayer`, keep
/// that same id instead of making a second one. With
/// [`echo_request_id`](ServerLayer::echo_request_id) it goes back on the response too.
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
#[derive(Debug, Clone, Default)]
pub struct ServerLayer {
    options: ExtractOptions,
    echo_request_id: bool,
    bound: BoundHeaders,
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

    /// The header the request id comes in and is written to (default `x-request-id`).
    /// [`ClientLayer::request_id_header`](crate::ClientLayer::request_id_header) names it for
    /// outgoing calls.
    ///
    /// ```
    /// use ctxflow_http::{ServerLayer, REQUEST_ID};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let layer = ServerLayer::new().request_id_header(http::HeaderName::from_static("x-correlation-id"));
    /// let svc = layer.layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(REQUEST_ID.get().unwrap().to_string()))
    /// }));
    /// let req = http::Request::builder().header("x-correlation-id", "c-9").body(()).unwrap();
    /// assert_eq!(svc.oneshot(req).await.unwrap().into_body().into_inner(), "c-9");
    /// # }
    /// ```
    pub fn request_id_header(mut self, name: HeaderName) -> Self {
        self.options.request_id_header = name;
        self
    }

    /// Whether the response carries the request id in the request id's header (default
    /// `false`). A value the inner service already put there is kept.
    ///
    /// ```
    /// use tower::{Layer, ServiceExt, service_fn};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let layer = ctxflow_http::ServerLayer::new().echo_request_id(true);
    /// let svc = layer.layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// let req = http::Request::builder().header("x-request-id", "r-7").body(()).unwrap();
    /// assert_eq!(svc.oneshot(req).await.unwrap().headers()["x-request-id"], "r-7");
    /// # }
    /// ```
    pub fn echo_request_id(mut self, echo: bool) -> Self {
        self.echo_request_id = echo;
        self
    }

    /// Binds the request header `name` to `var` for each request: the value, parsed with
    /// `T`'s `FromStr`, when it is one field of 1 to
    /// [`bound_header_max_len`](ServerLayer::bound_header_max_len) bytes of visible ASCII;
    /// otherwise `var` is unset and the refusal is listed in the request's
    /// [`RejectedHeaders`](crate::RejectedHeaders) extension. A bound header wins over a
    /// baggage member declared for the same variable.
    ///
    /// ```
    /// use ctxflow::ContextVar;
    /// use ctxflow_http::ServerLayer;
    /// use tower::{Layer, ServiceExt, service_fn};
    ///
    /// static TENANT: ContextVar<String> = ContextVar::new("tenant");
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let layer = ServerLayer::new().bind_header(http::HeaderName::from_static("x-tenant-id"), &TENANT);
    /// let svc = layer.layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(TENANT.get()))
    /// }));
    /// let req = http::Request::builder().header("x-tenant-id", "acme").body(()).unwrap();
    /// assert_eq!(svc.oneshot(req).await.unwrap().into_body().into_inner().as_deref(), Some("acme"));
    /// # }
    /// ```
    pub fn bind_header<T>(mut self, name: HeaderName, var: &'static ContextVar<T>) -> Self
    where
        T: std::str::FromStr + Send + Sync + 'static,
        T::Err: std::fmt::Display,
    {
        self.bound.add(name, var);
        self
    }

    /// The longest value a bound header may have, in bytes (default
    /// [`limits::BOUND_HEADER_MAX_LEN`](crate::limits::BOUND_HEADER_MAX_LEN)).
    ///
    /// ```
    /// let layer = ctxflow_http::ServerLayer::new().bound_header_max_len(64);
    /// ```
    pub fn bound_header_max_len(mut self, max_len: usize) -> Self {
        self.bound.set_max_len(max_len);
        self
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService {
            inner,
            options: self.options.clone(),
            echo_request_id: self.echo_request_id,
            bound: self.bound.clone(),
        }
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
    echo_request_id: bool,
    bound: BoundHeaders,
}

impl<S> ServerService<S> {
    /// Puts `id` in the request's id header unless it came from there (`received`), and gives
    /// back the header's name and value when the response is to echo them.
    fn mark_request_id<B>(
        &self,
        req: &mut Request<B>,
        id: &RequestId,
        received: bool,
    ) -> Option<(HeaderName, HeaderValue)> {
        let name = &self.options.request_id_header;
        if received {
            // The usual case with an id: nothing to write, nothing to look up without echo.
            let value = self.echo_request_id.then(|| req.headers().get(name).cloned())??;
            return Some((name.clone(), value));
        }
        // An id is visible ASCII, so this never fails; if it did, the header stays as it was.
        let value = HeaderValue::from_str(id.as_str()).ok()?;
        let echo = self.echo_request_id.then(|| (name.clone(), value.clone()));
        req.headers_mut().insert(name.clone(), value);
        echo
    }
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

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let (incoming, received) = IncomingContext::read(req.headers(), &self.options);
        let echo = self.mark_request_id(&mut req, &incoming.request_id, received);
        let context = if self.bound.is_empty() {
            incoming.into_context(Vec::new())
        } else {
            let (bindings, rejected) = self.bound.bind(req.headers());
            if rejected.iter().next().is_some() {
                req.extensions_mut().insert(rejected);
            }
            incoming.into_context(bindings)
        };
        let inner = &mut self.inner;
        let fut = context.sync_run(|| inner.call(req));
        ResponseFuture { inner: context.run(fut), context: Some(context), echo }
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
        echo: Option<(HeaderName, HeaderValue)>,
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
