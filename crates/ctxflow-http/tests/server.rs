//! The server layer behind axum and plain hyper, over loopback: malformed headers, keep-alive
//! isolation, and 1000 concurrent requests with spawned children.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow_http::{Baggage, ServerLayer};
use http::Request;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tower::ServiceExt;

static TENANT: ContextVar<String> = ContextVar::new("tenant");
static SCRATCH: ContextVar<String> = ContextVar::new("scratch");

fn declare() {
    // Several tests share the process; the first declaration wins, the others see KeyTaken.
    let _ = Baggage::export(&TENANT, "tenant");
}

/// Reports the context, writes SCRATCH with `set` (must never leak to another request), and
/// checks that three spawned children see exactly the same context.
async fn handler() -> String {
    let mine = format!("{} tenant={:?} scratch={:?}", common::report(), TENANT.get(), SCRATCH.get());
    SCRATCH.set("written by an earlier request".into()).unwrap();
    let base = format!("{} tenant={:?}", common::report(), TENANT.get());
    let mut children = Vec::new();
    for _ in 0..3 {
        children.push(ctxflow::spawn(async {
            tokio::task::yield_now().await;
            format!("{} tenant={:?}", common::report(), TENANT.get())
        }));
    }
    for child in children {
        let seen = child.await.unwrap();
        if seen != base {
            return format!("CHILD MISMATCH: {seen} != {base}");
        }
    }
    mine
}

fn app() -> Router {
    declare();
    Router::new().route("/", get(handler)).layer(ServerLayer::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_handler_sees_the_incoming_context() {
    let addr = common::serve(app()).await;
    let req = Request::get(format!("http://{addr}/"))
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .header("baggage", "tenant=acme,other=1")
        .header("x-request-id", "req-7")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let body = common::text(common::client().request(req).await.unwrap()).await;
    let parts: Vec<&str> = body.split(' ').collect();
    assert_eq!(parts[0], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(parts[1], "00f067aa0ba902b7", "our own span id");
    assert_eq!(&parts[2..], ["req-7", "tenant=acme,other=1", "tenant=Some(\"acme\")", "scratch=None"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_headers_never_reject_the_request() {
    let addr = common::serve(app()).await;
    let bad: &[(&str, &[u8])] = &[
        ("traceparent", b"00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        ("traceparent", b"\xff\xfe garbage"),
        ("tracestate", b"BAD KEY=1"),
        ("baggage", b"k=\"quoted\", =nokey, \xe9=1"),
        ("baggage", &[b'a'; 9000]),
        ("x-request-id", b"has space"),
    ];
    for (name, value) in bad {
        let req = Request::get(format!("http://{addr}/"))
            .header(*name, http::HeaderValue::from_bytes(value).unwrap())
            .body(Full::new(Bytes::new()))
            .unwrap();
        let res = common::client().request(req).await.unwrap();
        assert_eq!(res.status(), 200, "{name}");
        let body = common::text(res).await;
        let parts: Vec<&str> = body.split(' ').collect();
        assert_eq!(parts[0].len(), 32, "a new trace was started: {body}");
        assert_ne!(parts[0], "00000000000000000000000000000000");
        assert_eq!(parts[2].len(), 32, "a generated request id: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_request_n_plus_one_sees_nothing_of_request_n() {
    let addr = common::serve(app()).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let mut previous: Option<String> = None;
    for i in 0..20 {
        // Even requests bring a full context, odd ones bring nothing: all on one connection.
        let mut req = Request::get("/").header("host", "127.0.0.1");
        if i % 2 == 0 {
            req = req
                .header("traceparent", format!("00-{:032x}-00f067aa0ba902b7-01", i + 1))
                .header("baggage", format!("tenant=t{i}"))
                .header("x-request-id", format!("req-{i}"));
        }
        sender.ready().await.unwrap();
        let body = common::text(sender.send_request(req.body(Full::new(Bytes::new())).unwrap()).await.unwrap()).await;
        assert!(!body.starts_with("CHILD"), "{body}");
        let parts: Vec<&str> = body.split(' ').collect();
        if i % 2 == 0 {
            assert_eq!(parts[0], format!("{:032x}", i + 1));
            assert_eq!(
                &parts[2..],
                [&format!("req-{i}"), &format!("tenant=t{i}"), &format!("tenant=Some(\"t{i}\")"), "scratch=None"]
            );
        } else {
            let prev = previous.as_deref().unwrap();
            assert!(!prev.contains(parts[0]), "trace id of request {} reused: {body}", i - 1);
            assert!(!prev.contains(parts[2]), "request id reused: {body}");
            assert_eq!(&parts[3..], ["", "tenant=None", "scratch=None"], "{body}");
        }
        previous = Some(body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_hyper_service_works_through_tower_to_hyper() {
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    let svc = ServerLayer::new().layer_fn(|req: Request<hyper::body::Incoming>| async move {
        drop(req);
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(common::report()))))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let builder = Builder::new(hyper_util::rt::TokioExecutor::new());
        builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc)).await.unwrap();
    });
    let req =
        Request::get(format!("http://{addr}/")).header("x-request-id", "plain").body(Full::new(Bytes::new())).unwrap();
    let body = common::text(common::client().request(req).await.unwrap()).await;
    assert!(body.contains(" plain "), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_each_see_only_their_own_context() {
    const N: usize = 1000;
    let addr = common::serve(app()).await;
    let client = common::client();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..N {
        let client = client.clone();
        set.spawn(async move {
            let trace = format!("{:032x}", 0xabc0000 + i);
            let req = Request::get(format!("http://{addr}/"))
                .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
                .header("baggage", format!("tenant=t{i},n={i}"))
                .header("x-request-id", format!("r{i}"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let body = common::text(client.request(req).await.unwrap()).await;
            (i, trace, body)
        });
    }
    let checked = tokio::time::timeout(Duration::from_secs(120), async {
        let mut checked = 0;
        while let Some(joined) = set.join_next().await {
            let (i, trace, body) = joined.unwrap();
            let parts: Vec<&str> = body.split(' ').collect();
            assert_eq!(parts[0], trace, "{body}");
            assert_eq!(
                &parts[2..],
                [&format!("r{i}"), &format!("tenant=t{i},n={i}"), &format!("tenant=Some(\"t{i}\")"), "scratch=None"],
                "{body}"
            );
            checked += 1;
        }
        checked
    })
    .await
    .expect("1000 loopback requests did not finish within the bound");
    assert_eq!(checked, N);
}

trait LayerFn {
    fn layer_fn<F, Fut, R>(self, f: F) -> ctxflow_http::ServerService<tower::util::ServiceFn<F>>
    where
        F: FnMut(R) -> Fut;
}

impl LayerFn for ServerLayer {
    fn layer_fn<F, Fut, R>(self, f: F) -> ctxflow_http::ServerService<tower::util::ServiceFn<F>>
    where
        F: FnMut(R) -> Fut,
    {
        tower::Layer::layer(&self, tower::service_fn(f))
    }
}

#[tokio::test]
async fn call_itself_runs_inside_the_request_context() {
    // A service that reads the context synchronously in `call` (before its future is polled).
    #[derive(Clone)]
    struct ReadsInCall;
    impl tower::Service<Request<()>> for ReadsInCall {
        type Response = http::Response<Option<String>>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<http::Response<Option<String>>, Infallible>>;
        fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<()>) -> Self::Future {
            std::future::ready(Ok(http::Response::new(ctxflow_http::REQUEST_ID.get().map(|r| r.to_string()))))
        }
    }
    let svc = tower::Layer::layer(&ServerLayer::new(), ReadsInCall);
    let req = Request::builder().header("x-request-id", "in-call").body(()).unwrap();
    assert_eq!(svc.oneshot(req).await.unwrap().into_body().into_inner().as_deref(), Some("in-call"));
}

#[tokio::test]
async fn a_request_without_baggage_sees_the_empty_list_not_the_baggage_around_the_server() {
    let svc = tower::Layer::layer(
        &ServerLayer::new(),
        tower::service_fn(|_: Request<()>| async {
            let seen = ctxflow_http::BAGGAGE.with(|b| b.map(|b| b.to_string()));
            let others = ctxflow_http::TRACE.is_set() && ctxflow_http::REQUEST_ID.is_set();
            Ok::<_, Infallible>(http::Response::new((seen, ctxflow_http::BAGGAGE.is_set(), others)))
        }),
    );
    // No context around the server (BAGGAGE is then left out of the request's frame).
    let alone = svc.clone().oneshot(Request::new(())).await.unwrap().into_body().into_inner();
    assert_eq!(alone, (Some(String::new()), false, true));
    let outer: Baggage = "outer=leaked".parse().unwrap();
    let (with_none, with_some) = ctxflow_http::BAGGAGE
        .scope(outer, async {
            let none = svc.clone().oneshot(Request::new(())).await.unwrap().into_body().into_inner();
            let req = Request::builder().header("baggage", "k=v").body(()).unwrap();
            (none, svc.oneshot(req).await.unwrap().into_body().into_inner())
        })
        .await;
    assert_eq!(with_none, (Some(String::new()), false, true), "unset, read as its default: the empty list");
    assert_eq!(with_some, (Some("k=v".to_owned()), true, true));
}

/// Serves `svc` with hyper alone (no axum) on an ephemeral loopback port, each connection on a
/// task of its own, until the runtime shuts down.
async fn serve_with_hyper<S, B>(svc: S) -> std::net::SocketAddr
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = http::Response<B>, Error = Infallible>,
    S: Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = TowerToHyperService::new(svc.clone());
            tokio::spawn(async move {
                let builder = Builder::new(hyper_util::rt::TokioExecutor::new());
                let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_response_body_is_polled_inside_the_request_context() {
    let svc = ServerLayer::new().layer_fn(|_req: Request<hyper::body::Incoming>| async move {
        Ok::<_, Infallible>(http::Response::new(common::ReportsRequestId { frames_left: 3 }))
    });
    let addr = serve_with_hyper(svc).await;
    for i in 0..10 {
        let req = Request::get(format!("http://{addr}/"))
            .header("x-request-id", format!("stream-{i}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let body = common::text(common::client().request(req).await.unwrap()).await;
        assert_eq!(body, format!("stream-{i};stream-{i};stream-{i};"));
    }
}

/// What a [`ReportsDrop`] body does after its one frame.
#[derive(Clone, Copy)]
enum After {
    /// Waits forever, as a stream of events does.
    Waits,
    /// Answers the next poll with the end.
    Ends,
    /// Says it has ended (`is_end_stream`), as a whole body does, and answers the end too.
    SaysItEnded,
}

/// A body of one frame; dropped, it reports the request id its `Drop` sees.
struct ReportsDrop {
    after: After,
    sent: bool,
    seen_on_drop: tokio::sync::mpsc::UnboundedSender<Option<String>>,
}

impl http_body::Body for ReportsDrop {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if !std::mem::replace(&mut self.sent, true) {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(b"event")))));
        }
        match self.after {
            After::Waits => std::task::Poll::Pending,
            After::Ends | After::SaysItEnded => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.after, After::SaysItEnded) && self.sent
    }
}

impl Drop for ReportsDrop {
    fn drop(&mut self) {
        let _ = self.seen_on_drop.send(ctxflow_http::REQUEST_ID.get().map(|r| r.to_string()));
    }
}

/// Sends `n` requests at once through `ServerLayer` to bodies that do `after`, reads each body's
/// first frame (all of it, unless it waits), and drops it from a plain task inside another
/// request's scope; returns the request ids the bodies' `Drop`s saw, sorted as text.
async fn seen_by_dropped_bodies(n: usize, after: After) -> Vec<String> {
    use http_body_util::BodyExt;
    let (seen_on_drop, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let svc = ServerLayer::new().layer_fn(move |_req: Request<()>| {
        let body = ReportsDrop { after, sent: false, seen_on_drop: seen_on_drop.clone() };
        async move { Ok::<_, Infallible>(http::Response::new(body)) }
    });
    let requests = (0..n).map(|i| {
        let svc = svc.clone();
        tokio::spawn(async move {
            let req = Request::builder().header("x-request-id", format!("body-{i}")).body(()).unwrap();
            let mut body = svc.oneshot(req).await.unwrap().into_body();
            let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
            assert_eq!(&first[..], b"event");
            if !matches!(after, After::Waits) {
                assert!(body.frame().await.is_none(), "one frame, then the end");
            }
            let elsewhere: ctxflow_http::RequestId = "the-dropper".parse().unwrap();
            ctxflow_http::REQUEST_ID.sync_scope(elsewhere, move || drop(body));
        })
    });
    for request in requests.collect::<Vec<_>>() {
        request.await.unwrap();
    }
    sorted_reports(&mut reports, n).await
}

/// The request ids that `n` bodies' `Drop`s report, sorted as text.
async fn sorted_reports(reports: &mut tokio::sync::mpsc::UnboundedReceiver<Option<String>>, n: usize) -> Vec<String> {
    let mut seen = Vec::with_capacity(n);
    for _ in 0..n {
        seen.push(reports.recv().await.expect("a report per body").expect("a request id in the body's Drop"));
    }
    seen.sort();
    seen
}

/// `prefix-0` to `prefix-{n-1}`, sorted as text.
fn ids(prefix: &str, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_body_dropped_unfinished_runs_its_drop_inside_the_request_context() {
    // As hyper gives up a body when its client goes away.
    let seen = seen_by_dropped_bodies(200, After::Waits).await;
    assert_eq!(seen, ids("body", 200), "each body's Drop sees its own request, never the dropper's nor another's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_response_body_is_dropped_inside_the_request_context() {
    for after in [After::Ends, After::SaysItEnded] {
        let seen = seen_by_dropped_bodies(100, after).await;
        assert_eq!(seen, ids("body", 100), "each body's Drop sees its own request, never the dropper's nor another's");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_drops_the_body_of_a_client_gone_away_inside_its_request_context() {
    use http_body_util::BodyExt;
    const N: usize = 20;
    let (seen_on_drop, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let svc = ServerLayer::new().layer_fn(move |_req: Request<hyper::body::Incoming>| {
        let body = ReportsDrop { after: After::Waits, sent: false, seen_on_drop: seen_on_drop.clone() };
        async move { Ok::<_, Infallible>(http::Response::new(body)) }
    });
    let addr = serve_with_hyper(svc).await;
    // Each client reads the first event and hangs up: hyper sees the connection close and drops
    // the unfinished body on its connection task.
    let clients = (0..N).map(|i| {
        tokio::spawn(async move {
            let req = Request::get(format!("http://{addr}/"))
                .header("x-request-id", format!("gone-{i}"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let mut body = common::client().request(req).await.unwrap().into_body();
            let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
            assert_eq!(&first[..], b"event");
        })
    });
    for client in clients.collect::<Vec<_>>() {
        client.await.unwrap();
    }
    let seen = tokio::time::timeout(Duration::from_secs(60), sorted_reports(&mut reports, N))
        .await
        .expect("hyper did not drop every body of a closed connection within the bound");
    assert_eq!(seen, ids("gone", N));
}
