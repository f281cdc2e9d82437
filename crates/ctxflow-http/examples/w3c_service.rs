//! The service under test for the official W3C Trace Context harness (`test/` of the
//! w3c/trace-context repository), run by `scripts/w3c-conformance.sh`.
//!
//! The harness POSTs a JSON list of `{"url": ..., "arguments": ...}` with the trace headers
//! under test. For each item, in order, we POST `arguments` (as JSON) to `url`, then answer.
//! The axum [`ServerLayer`] reads the incoming context; the hyper client wrapped in
//! [`ClientLayer`] writes it into every callback. One run therefore covers both halves.
//!
//! ```text
//! cargo run -p ctxflow-http --example w3c_service -- 127.0.0.1:5001
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::routing::post;
use ctxflow_http::{ClientLayer, ClientService, ServerLayer};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

type HttpClient = ClientService<Client<HttpConnector, Full<Bytes>>>;

#[tokio::main]
async fn main() {
    let addr: SocketAddr = std::env::args().nth(1).as_deref().unwrap_or("127.0.0.1:5001").parse().expect("address");
    assert!(addr.ip().is_loopback(), "the service under test binds loopback only");
    let client: HttpClient = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http());
    let app =
        Router::new().route("/test", post(move |body: Bytes| handle(client.clone(), body))).layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    eprintln!("w3c_service listening on http://{addr}/test");
    axum::serve(listener, app).await.expect("serve");
}

/// Makes the callbacks, in order, each finished before the next, all before answering.
async fn handle(
    client: HttpClient,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], &'static str) {
    let json = [(header::CONTENT_TYPE, "application/json")];
    let Ok(serde_json::Value::Array(actions)) = serde_json::from_slice(&body) else {
        return (StatusCode::BAD_REQUEST, json, "{}");
    };
    for action in actions {
        let (Some(url), arguments) = (action["url"].as_str(), &action["arguments"]) else { continue };
        let body = serde_json::to_vec(arguments).unwrap_or_else(|_| b"[]".to_vec());
        let Ok(req) = http::Request::post(url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
        else {
            continue;
        };
        if let Err(e) = client.clone().oneshot(req).await {
            eprintln!("callback to {url} failed: {e}");
        }
    }
    (StatusCode::OK, json, "{}")
}
