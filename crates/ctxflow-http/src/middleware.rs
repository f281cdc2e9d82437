//! `ContextMiddleware`: the current context on every request of a `reqwest-middleware` client.

use http::Extensions;
use reqwest_middleware::{Middleware, Next, Result};

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
///     .with(ContextMiddleware)
///     .build();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ContextMiddleware;

#[async_trait::async_trait]
impl Middleware for ContextMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        crate::inject(req.headers_mut());
        next.run(req, extensions).await
    }
}
