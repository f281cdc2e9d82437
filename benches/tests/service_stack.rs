//! The HTTP stack comparison compares like with like: each variant of the service answers, the
//! ones that carry context pass the incoming trace on to the downstream call, as users'
//! services do, and ctxflow's variants answer "ok" only if their spawned task saw the request's
//! context. Each variant runs as its own `http stack-serve` process (each installs a
//! global subscriber), against a downstream server in this test that records what it gets.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use ctxflow_benches::child_server::ChildServer;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The `traceparent` each downstream call carried (`None`: no header).
type Seen = Arc<Mutex<Vec<Option<String>>>>;

async fn downstream() -> (u16, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new().route(
        "/",
        get(move |headers: HeaderMap| {
            let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
            record.lock().unwrap().push(traceparent);
            async { "downstream" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, seen)
}

fn start(variant: &str, downstream: u16) -> ChildServer {
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_http"));
    ChildServer::start(program, &["stack-serve", variant, &downstream.to_string()]).unwrap()
}

/// One request to the service, with a `traceparent`; its status and body.
async fn call(port: u16) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nhost: localhost\r\ntraceparent: 00-{TRACE_ID}-00f067aa0ba902b7-01\r\nconnection: close\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut response).await.unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response.rsplit("\r\n\r\n").next().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_variant_answers_and_the_traced_ones_pass_the_trace_on() {
    let variants = [
        ("stack_bare", false),
        ("stack_by_hand", true),
        ("stack_ctxflow", true),
        ("stack_automatic", true),
        ("stack_otel", true),
    ];
    for (variant, propagates) in variants {
        let (port, seen) = downstream().await;
        let server = start(variant, port);
        let service = server.port();
        for _ in 0..3 {
            assert_eq!(call(service).await, (200, "ok".to_owned()), "{variant}");
        }
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "{variant}: one downstream call per request");
        for traceparent in seen {
            match (propagates, traceparent) {
                (true, Some(tp)) => {
                    assert!(tp.starts_with(&format!("00-{TRACE_ID}-")), "{variant}: {tp}");
                    assert!(!tp.contains("00f067aa0ba902b7"), "{variant}: the parent is this service's span: {tp}");
                }
                (false, None) => {}
                (propagates, got) => panic!("{variant}: propagates {propagates}, downstream got {got:?}"),
            }
        }
    }
}
