//! What the HTTP layer benchmarks run (criterion's `http_layers` and the instruction probe's
//! `http_request` group): a trivial inner service, requests with or without the four headers
//! the server layer reads, one request served to the end (body included), and a client that
//! sends nothing anywhere.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ctxflow::{ContextVar, Snapshot};
use ctxflow_http::{ClientLayer, ServerLayer};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower::{Layer, Service, ServiceExt, service_fn};

/// The four headers the server layer reads.
pub const HEADERS: [(&str, &str); 4] = [
    ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,acme=x@1"),
    ("baggage", "userId=alice,serverNode=DF%2028,isProduction=false,tenant=acme;ttl=60"),
    ("x-request-id", "3f2b6c1e-8d4a-4f7e-9b1c-2a5d6e7f8a90"),
];

/// Declared (as `tenant`) by the rows that measure a declared export.
pub static TENANT: ContextVar<String> = ContextVar::new("tenant");

/// A request, with or without [`HEADERS`].
pub fn request(with_headers: bool) -> Request<()> {
    let mut req = Request::new(());
    if with_headers {
        for (name, value) in HEADERS {
            req.headers_mut().insert(name, value.parse().unwrap());
        }
    }
    req
}

/// Polls a future that completes without waiting (every future here does).
pub fn now<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the benchmarked services never wait"),
    }
}

/// One request through `svc`, its body polled to the end, everything dropped.
pub fn serve<S, B>(svc: &mut S, req: Request<()>)
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
    B: Body<Data = &'static [u8], Error = Infallible>,
{
    let res = now(svc.oneshot(req)).unwrap();
    let mut body = pin!(res.into_body());
    let mut cx = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
        black_box(frame.unwrap());
    }
}

/// The trivial service: answers "ok".
pub fn inner() -> impl Service<Request<()>, Response = Response<Full<&'static [u8]>>, Error = Infallible> + Clone {
    service_fn(|req: Request<()>| {
        black_box(&req);
        std::future::ready(Ok(Response::new(Full::new(&b"ok"[..]))))
    })
}

/// A client that sends nothing anywhere: it answers how many headers it was given.
pub fn sink() -> impl Service<Request<()>, Response = usize, Error = Infallible> + Clone {
    service_fn(|req: Request<()>| std::future::ready(Ok(black_box(req).headers().len())))
}

/// The context the server layer builds for a request with the four headers.
pub fn request_context() -> Snapshot {
    let mut capture = ServerLayer::new().layer(service_fn(|_: Request<()>| {
        std::future::ready(Ok::<_, Infallible>(Response::new(Snapshot::capture())))
    }));
    now((&mut capture).oneshot(request(true))).unwrap().into_body().into_inner()
}

/// One outgoing request through `ClientLayer` inside `context`.
pub fn send(
    client: &mut ctxflow_http::ClientService<impl Service<Request<()>, Response = usize, Error = Infallible>>,
    context: &Snapshot,
) {
    context.sync_run(|| black_box(now(client.oneshot(request(false))).unwrap()));
}

/// `ClientLayer` around [`sink`].
pub fn client() -> ctxflow_http::ClientService<impl Service<Request<()>, Response = usize, Error = Infallible> + Clone>
{
    ClientLayer::new().layer(sink())
}
