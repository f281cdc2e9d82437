//! `ContextMiddleware`: the current context on every request of a `reqwest-middleware` client.

use http::{Extensions, HeaderName};
use reqwest_middleware::{Middleware, Next, Result};

use crate::propagation::inject::{InjectOptions, inject_with};

/// Injects the current context into each outgoing reqwest request, as
/// [`ClientLayer`](crate::ClientLayer) does for tower clients: a child `traceparent` (and the
/// trace's `tracestate`), the `baggage` with the declared variables, and the request id. A
/// header already on the request is left alone, but `baggage` gets the declared variables
/// added (see [`inject`](crate::inject)).
///
/// The middleware runs in the task that awaits the request, so it sees that task's context.
/// Beside `reqwest-tracing`'s `TracingMiddleware`, which writes `traceparent` itself when its
/// OpenTelemetry propagation is on: middlewares run in the order they are added, and the first
/// to set the header wins here (reqwest-tracing's propagator overwrites it). Add
/// `ContextMiddleware` after `TracingMiddleware` to keep OpenTelemetry's `traceparent` and add
/// the rest; add it first, or alone, for ctxflow's.
///
/// ```
/// use ctxflow_http::ContextMiddleware;
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(ContextMiddleware::new())
///     .build();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ContextMiddleware {
    options: InjectOptions,
}

impl ContextMiddleware {
    /// The middleware, sending the request id in `x-request-id`.
    ///
    /// ```
    /// let middleware = ctxflow_http::ContextMiddleware::new();
    /// # let _ = middleware;
    /// ```
    pub fn new() -> Self {
        ContextMiddleware::default()
    }

    /// The header the request id is sent in (default `x-request-id`), to match the
    /// downstream's [`ServerLayer::request_id_header`](crate::ServerLayer::request_id_header),
    /// as [`ClientLayer::request_id_header`](crate::ClientLayer::request_id_header) does.
    ///
    /// ```
    /// let middleware = ctxflow_http::ContextMiddleware::new()
    ///     .request_id_header(http::HeaderName::from_static("x-correlation-id"));
    /// # let _ = middleware;
    /// ```
    pub fn request_id_header(mut self, name: HeaderName) -> Self {
        self.options.request_id_header = name;
        self
    }
}

#[async_trait::async_trait]
impl Middleware for ContextMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        inject_with(req.headers_mut(), &self.options);
        next.run(req, extensions).await
    }
}
