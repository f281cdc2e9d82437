//! The client side: many concurrent requests, each sent from inside its own context, through
//! ctxflow's client layer, which writes the context into `traceparent`, `baggage` and
//! `x-request-id`. A progress line shows while they run.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use ctxflow_http::{ClientLayer, ClientService, REQUEST_ID, RequestId};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;
use tower::{Layer, ServiceExt};

use crate::service::TENANT;

pub type HttpClient = ClientService<Client<HttpConnector, Full<Bytes>>>;

pub const TENANTS: [&str; 3] = ["acme", "globex", "initech"];

pub fn client() -> HttpClient {
    ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http())
}

/// Sends request `i` from inside its context: id `req-<i>`, tenant by `i`.
pub async fn send(client: &HttpClient, addr: SocketAddr, i: usize, hold: bool) -> http::StatusCode {
    let id = format!("req-{i}");
    let tenant = TENANTS[i % TENANTS.len()].to_owned();
    let mut req = http::Request::get(format!("http://{addr}/")).header("x-expect", format!("{id} {tenant}"));
    if hold {
        req = req.header("x-tour-hold", "1");
    }
    let req = req.body(Full::new(Bytes::new())).expect("request");
    let request_id: RequestId = id.parse().expect("a valid request id");
    let sent = ctxflow::scope((REQUEST_ID.value(request_id), TENANT.value(tenant)), client.clone().oneshot(req));
    sent.await.map(|res| res.status()).unwrap_or(http::StatusCode::BAD_GATEWAY)
}

/// Sends `n` requests, `concurrency` at a time; returns how many failed.
pub async fn run(client: &HttpClient, addr: SocketAddr, n: usize, concurrency: usize, progress: bool) -> usize {
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(Semaphore::new(concurrency));
    let ticker = progress.then(|| {
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                let d = done.load(Ordering::Relaxed);
                print!("\r      requests: {d:>5}/{n}  [{:<30}]", "#".repeat(d * 30 / n.max(1)));
                let _ = std::io::stdout().flush();
                if d == n {
                    println!();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let mut all = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        let (client, done, failed) = (client.clone(), done.clone(), failed.clone());
        all.spawn(async move {
            if !send(&client, addr, i, false).await.is_success() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            done.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    while all.join_next().await.is_some() {}
    if let Some(t) = ticker {
        let _ = t.await;
    }
    failed.load(Ordering::Relaxed)
}
