//! [`ServerLayer`]: the options of the server half, and the layer that applies them.

use ctxflow::ContextVar;
use http::HeaderName;
use tower_layer::Layer;

use super::service::ServerService;
use crate::context::bound_headers::BoundHeaders;
use crate::propagation::extract::ExtractOptions;

/// Runs every request inside a context holding its [`TRACE`](crate::TRACE),
/// [`BAGGAGE`](crate::BAGGAGE), [`REQUEST_ID`](crate::REQUEST_ID) and declared exports.
///
/// Works with any `tower::Service<http::Request<B>>` answering `http::Response<_>`: an axum
/// `Router` (`.layer(ServerLayer::new())`) or a hyper service through
/// `hyper_util::service::TowerToHyperService`. The response body is wrapped in a
/// [`ScopedBody`](crate::ScopedBody) so that a streaming body is polled inside the request's
/// context too. Malformed headers never fail the request (see
/// [`IncomingContext::from_headers`](crate::IncomingContext::from_headers)).
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
        ServerService::new(inner, self.options.clone(), self.echo_request_id, self.bound.clone())
    }
}
