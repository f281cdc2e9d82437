//! [`ClientLayer`]: the options of the client half, and the layer that applies them.

use http::HeaderName;
use tower_layer::Layer;

use super::service::ClientService;
use crate::propagation::inject::InjectOptions;

/// Injects `traceparent` (new parent-id per call), `tracestate`, `baggage` (with declared
/// variables) and `x-request-id` into every outgoing request, never replacing a header the
/// caller set.
///
/// Put it outside any layer that moves requests to another task, such as
/// `tower::buffer::Buffer`: `ClientLayer::new().layer(Buffer::new(client, 64))`. Inside the
/// buffer it would run in the buffer's worker task, which carries no request's context.
///
/// The context is read when `call` runs (as `ctxflow::spawn` captures at the spawn call):
/// `VAR.scope(v, client.call(req))` evaluates `call` before entering the scope, so write
/// `VAR.scope(v, async move { client.call(req).await })`, or use `ServiceExt::oneshot`, whose
/// `call` happens when the future is polled.
///
/// ```
/// use ctxflow_http::{ClientLayer, TRACE, TraceContext};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let client = ClientLayer::new().layer(service_fn(|req: http::Request<()>| async move {
///     Ok::<_, std::convert::Infallible>(req.headers().contains_key("traceparent"))
/// }));
/// let sent = TRACE.scope(TraceContext::new_root(true), client.oneshot(http::Request::new(()))).await;
/// assert!(sent.unwrap());
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientLayer {
    options: InjectOptions,
}

impl ClientLayer {
    /// The layer.
    ///
    /// ```
    /// use tower::Layer;
    /// let client = ctxflow_http::ClientLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(())
    /// }));
    /// # let _ = client;
    /// ```
    pub fn new() -> Self {
        ClientLayer::default()
    }

    /// The header the request id is sent in (default `x-request-id`), to match the
    /// downstream's [`ServerLayer::request_id_header`](crate::ServerLayer::request_id_header).
    ///
    /// ```
    /// use ctxflow_http::{ClientLayer, REQUEST_ID};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let layer = ClientLayer::new().request_id_header(http::HeaderName::from_static("x-correlation-id"));
    /// let client = layer.layer(service_fn(|req: http::Request<()>| async move {
    ///     Ok::<_, std::convert::Infallible>(req.headers().get("x-correlation-id").cloned())
    /// }));
    /// let sent = REQUEST_ID.scope("c-1".parse().unwrap(), client.oneshot(http::Request::new(()))).await;
    /// assert_eq!(sent.unwrap().unwrap(), "c-1");
    /// # }
    /// ```
    pub fn request_id_header(mut self, name: HeaderName) -> Self {
        self.options.request_id_header = name;
        self
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService::new(inner, self.options.clone())
    }
}
