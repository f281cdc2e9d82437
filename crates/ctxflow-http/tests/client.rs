//! The client layer on hyper-util's legacy client, over loopback: what goes out on the wire.

mod common;

use std::convert::Infallible;

use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use ctxflow_http::{
    BAGGAGE, Baggage, ClientLayer, REQUEST_ID, RequestId, ScopedBody, TRACE, TraceContext, TraceParent, TraceState,
};
use http::{HeaderMap, Request};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};

/// A server that answers with the trace headers it received, one `name: value` per line.
async fn echo_server() -> std::net::SocketAddr {
    common::serve(Router::new().route(
        "/",
        get(|headers: HeaderMap| async move {
            let mut out = String::new();
            for name in ["traceparent", "tracestate", "baggage", "x-request-id"] {
                for v in headers.get_all(name) {
                    out += &format!("{name}: {}\n", v.to_str().unwrap());
                }
            }
            out
        }),
    ))
    .await
}

fn incoming() -> (TraceContext, Baggage, RequestId) {
    let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".parse().unwrap();
    let trace = TraceContext::continued(tp, TraceState::parse("rojo=1,congo=2").unwrap());
    (trace, "tenant=acme,user=Am%C3%A9lie".parse().unwrap(), "req-1".parse().unwrap())
}

async fn send(addr: std::net::SocketAddr, extra: &[(&str, &str)]) -> String {
    let client = ClientLayer::new().layer(common::client());
    let mut req = Request::get(format!("http://{addr}/"));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    common::text(client.oneshot(req.body(Full::new(Bytes::new())).unwrap()).await.unwrap()).await
}

fn field<'a>(echo: &'a str, name: &str) -> Vec<&'a str> {
    echo.lines().filter_map(|l| l.strip_prefix(name)?.strip_prefix(": ")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_client_sends_the_current_context_with_a_new_parent_id_per_call() {
    let addr = echo_server().await;
    let (trace, baggage, id) = incoming();
    let (first, second) = ctxflow::scope((TRACE.value(trace), BAGGAGE.value(baggage), REQUEST_ID.value(id)), async {
        (send(addr, &[]).await, send(addr, &[]).await)
    })
    .await;
    for echo in [&first, &second] {
        let tp: TraceParent = field(echo, "traceparent")[0].parse().unwrap();
        assert_eq!(tp.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(tp.parent_id.to_string(), "00f067aa0ba902b7", "a new parent-id, not the caller's");
        assert_eq!(tp.flags.bits(), 0x03, "sampled and random kept");
        assert_eq!(field(echo, "tracestate"), ["rojo=1,congo=2"]);
        assert_eq!(field(echo, "baggage"), ["tenant=acme,user=Am%C3%A9lie"]);
        assert_eq!(field(echo, "x-request-id"), ["req-1"]);
    }
    assert_ne!(field(&first, "traceparent"), field(&second, "traceparent"), "each call has its own parent-id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_the_caller_set_are_never_replaced_or_duplicated() {
    let addr = echo_server().await;
    let (trace, baggage, id) = incoming();
    let mine = "00-11111111111111111111111111111111-2222222222222222-00";
    let echo = ctxflow::scope(
        (TRACE.value(trace), BAGGAGE.value(baggage), REQUEST_ID.value(id)),
        send(addr, &[("traceparent", mine), ("baggage", "mine=1"), ("x-request-id", "mine")]),
    )
    .await;
    assert_eq!(field(&echo, "traceparent"), [mine]);
    assert_eq!(field(&echo, "tracestate"), Vec::<&str>::new(), "no tracestate for a traceparent we did not write");
    assert_eq!(field(&echo, "baggage"), ["mine=1"]);
    assert_eq!(field(&echo, "x-request-id"), ["mine"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_any_request_nothing_is_injected() {
    let addr = echo_server().await;
    assert_eq!(send(addr, &[]).await, "");
}

#[tokio::test]
async fn empty_tracestate_and_baggage_are_not_sent() {
    let client = ClientLayer::new().layer(service_fn(|req: Request<()>| async move {
        Ok::<_, Infallible>(req.headers().keys().map(|k| k.to_string()).collect::<Vec<_>>())
    }));
    let sent = ctxflow::scope(
        (TRACE.value(TraceContext::new_root(false)), BAGGAGE.value(Baggage::new())),
        client.oneshot(Request::new(())),
    )
    .await
    .unwrap();
    assert_eq!(sent, ["traceparent"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_is_polled_by_the_connection_task_unless_bound_to_the_context() {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let addr = common::serve(Router::new().route("/", axum::routing::post(|body: String| async move { body }))).await;
    let url = format!("http://{addr}/");
    let (plain, bound) = REQUEST_ID
        .scope("req-1".parse().unwrap(), async {
            let client = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http());
            let req = Request::post(&url).body(common::ReportsRequestId { frames_left: 1 }).unwrap();
            let plain = common::text(client.oneshot(req).await.unwrap()).await;
            let client = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http());
            let body = ScopedBody::new(common::ReportsRequestId { frames_left: 1 }, ctxflow::Snapshot::capture());
            let bound = common::text(client.oneshot(Request::post(&url).body(body).unwrap()).await.unwrap()).await;
            (plain, bound)
        })
        .await;
    assert_eq!(plain, "none;", "hyper polls the body in its connection task, outside the request");
    assert_eq!(bound, "req-1;", "a ScopedBody is polled inside the context it was given");
}
