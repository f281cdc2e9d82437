//! [`ServerService`]: builds each request's context from its headers and calls the inner
//! service inside it.

use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request, Response};
use tower_service::Service;

use super::body::ScopedBody;
use super::future::ResponseFuture;
use crate::context::bound_headers::BoundHeaders;
use crate::propagation::extract::{ExtractOptions, IncomingContext};
use crate::wire::request_id::RequestId;

/// The service made by [`ServerLayer`](crate::ServerLayer).
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
    pub(super) fn new(inner: S, options: ExtractOptions, echo_request_id: bool, bound: BoundHeaders) -> Self {
        ServerService { inner, options, echo_request_id, bound }
    }

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
        ResponseFuture::new(context.run(fut), context, echo)
    }
}
