//! [`ClientService`]: writes the current context into each outgoing request, then calls the
//! inner service.

use std::task::{Context, Poll};

use http::Request;
use tower_service::Service;

use crate::propagation::inject::{InjectOptions, inject_with};

/// The service made by [`ClientLayer`](crate::ClientLayer).
///
/// ```
/// use tower::{Layer, ServiceExt};
/// let svc: ctxflow_http::ClientService<_> = ctxflow_http::ClientLayer::new()
///     .layer(tower::service_fn(|r: http::Request<()>| async move { Ok::<_, ()>(r.headers().len()) }));
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(svc.oneshot(http::Request::new(())).await, Ok(0), "nothing to inject outside a request");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ClientService<S> {
    inner: S,
    options: InjectOptions,
}

impl<S> ClientService<S> {
    pub(super) fn new(inner: S, options: InjectOptions) -> Self {
        ClientService { inner, options }
    }
}

impl<S, B> Service<Request<B>> for ClientService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        inject_with(req.headers_mut(), &self.options);
        self.inner.call(req)
    }
}
