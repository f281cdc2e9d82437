//! `ContextMiddleware` (feature `reqwest`): a reqwest-middleware client inside a request's context
//! sends that context to a live server on loopback, as `ClientLayer` does.

use std::convert::Infallible;

use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow_http::{Baggage, ContextMiddleware, ServerLayer};
use http::{HeaderMap, Request};
use tower::{Layer, ServiceExt, service_fn};

static TENANT: ContextVar<String> = ContextVar::new("tenant");

/// A server on 127.0.0.1 that answers with the trace headers it received, one per line.
async fn echo_server() -> String {
    let echo = get(|headers: HeaderMap| async move {
        ["traceparent", "baggage", "x-request-id", "x-correlation-id"]
            .map(|name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned())
            .join("\n")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().route("/", echo)).await.unwrap() });
    url
}

/// What the echo server saw of a call made, with `extra` headers, inside the context of an
/// incoming request that carried `incoming` headers.
async fn downstream_sees(
    url: String,
    incoming: &[(&str, &str)],
    extra: &[(&'static str, &'static str)],
) -> Vec<String> {
    sees_through(ContextMiddleware::new(), url, incoming, extra).await
}

/// [`downstream_sees`], through `middleware`.
async fn sees_through(
    middleware: ContextMiddleware,
    url: String,
    incoming: &[(&str, &str)],
    extra: &[(&'static str, &'static str)],
) -> Vec<String> {
    let extra = extra.to_vec();
    let handler = service_fn(move |_req: Request<()>| {
        let (url, extra, middleware) = (url.clone(), extra.clone(), middleware.clone());
        async move {
            let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(middleware).build();
            let mut call = client.get(&url);
            for (name, value) in extra {
                call = call.header(name, value);
            }
            let body = call.send().await.unwrap().text().await.unwrap();
            Ok::<_, Infallible>(http::Response::new(body))
        }
    });
    let mut req = Request::builder();
    for (name, value) in incoming {
        req = req.header(*name, *value);
    }
    let res = ServerLayer::new().layer(handler).oneshot(req.body(()).unwrap()).await.unwrap();
    res.into_body().into_inner().lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_carries_the_callers_trace_baggage_and_request_id() {
    Baggage::export(&TENANT, "tenant").unwrap();
    let url = echo_server().await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let incoming = [("traceparent", parent), ("baggage", "tenant=acme,other=1"), ("x-request-id", "req-42")];
    let seen = downstream_sees(url.clone(), &incoming, &[]).await;
    let [traceparent, baggage, request_id, correlation_id] = <[String; 4]>::try_from(seen).unwrap();
    assert_eq!(correlation_id, "-");
    assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "same trace: {traceparent}");
    assert!(!traceparent.contains("00f067aa0ba902b7"), "a new parent id, not the caller's caller's");
    assert_eq!(baggage, "tenant=acme,other=1");
    assert_eq!(request_id, "req-42");

    // Concurrent calls from concurrent requests: each carries its own request id.
    let calls = (0..50).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let id = format!("req-{i}");
            let seen = downstream_sees(url, &[("x-request-id", id.as_str())], &[]).await;
            (id, seen[2].clone())
        })
    });
    for call in calls {
        let (sent, seen) = call.await.unwrap();
        assert_eq!(seen, sent);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_the_caller_set_wins() {
    let url = echo_server().await;
    let own = "00-11111111111111111111111111111111-2222222222222222-01";
    let seen = downstream_sees(url, &[("x-request-id", "req-1")], &[("traceparent", own)]).await;
    assert_eq!(seen[0], own);
    assert_eq!(seen[2], "req-1", "the rest is still added");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_id_goes_in_the_header_the_middleware_names() {
    let url = echo_server().await;
    let middleware = ContextMiddleware::new().request_id_header(http::HeaderName::from_static("x-correlation-id"));
    let seen = sees_through(middleware, url, &[("x-request-id", "req-7")], &[]).await;
    assert_eq!((seen[2].as_str(), seen[3].as_str()), ("-", "req-7"));
}
