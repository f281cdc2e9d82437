//! Tenant bleed: two tenants' requests interleaved on the same keep-alive connections, the
//! same worker threads and the same client connection pool, and everything each request does
//! carries its own tenant only: every log line (tracing JSON output with the tenant added by
//! ctxflow-tracing), every child task (`ctxflow::spawn` and plain `tokio::spawn` on an opted-in
//! runtime), and every outgoing call (checked by the receiving service).
//!
//! The truth travels beside the context, never through it: each request also carries its
//! tenant in a plain `x-expect-tenant` header, which every check compares with.
//! (One test in this binary: it installs the global tracing subscriber.)

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow::runtime::BuilderExt;
use ctxflow_http::{Baggage, ClientLayer, ClientService, ServerLayer};
use ctxflow_tracing::ContextFields;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{Layer, ServiceExt};

static TENANT: ContextVar<String> = ContextVar::new("tenant");

const TENANTS: [&str; 2] = ["acme", "globex"];
const REQUESTS: usize = 400;
/// Keep-alive connections from the outside to the front service, each carrying an equal share
/// of the requests.
const CONNECTIONS: usize = 8;

type Pooled = ClientService<Client<HttpConnector, Empty<Bytes>>>;

/// Everything the services saw; each check is (where, expected tenant, seen tenant).
#[derive(Default)]
struct Seen {
    checks: Mutex<Vec<(&'static str, String, Option<String>)>>,
    /// Per service, per connection (peer address): the tenants served on it.
    connections: Mutex<HashMap<(&'static str, SocketAddr), BTreeSet<String>>>,
    /// Per worker thread: the tenants whose code ran on it.
    threads: Mutex<HashMap<std::thread::ThreadId, BTreeSet<String>>>,
}

impl Seen {
    fn check(&self, place: &'static str, expected: &str) {
        let seen = TENANT.get();
        self.threads.lock().unwrap().entry(std::thread::current().id()).or_default().insert(expected.to_string());
        tracing::info!(expected, place, "checked");
        self.checks.lock().unwrap().push((place, expected.to_string(), seen));
    }

    fn connection(&self, service: &'static str, peer: SocketAddr, tenant: &str) {
        self.connections.lock().unwrap().entry((service, peer)).or_default().insert(tenant.to_string());
    }

    /// Connections of `service` that served both tenants.
    fn shared_connections(&self, service: &str) -> usize {
        let all = self.connections.lock().unwrap();
        all.iter().filter(|((s, _), tenants)| *s == service && tenants.len() == 2).count()
    }
}

fn expected(headers: &HeaderMap) -> String {
    headers.get("x-expect-tenant").and_then(|v| v.to_str().ok()).unwrap_or("?").to_string()
}

fn pooled_client() -> Pooled {
    let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(4).build_http::<Empty<Bytes>>();
    ClientLayer::new().layer(client)
}

/// An outgoing call from inside a request: the client layer injects the current context.
async fn call(client: &Pooled, uri: &str, tenant: &str) -> String {
    let req = http::Request::get(uri).header("x-expect-tenant", tenant).body(Empty::new()).unwrap();
    let res = client.clone().oneshot(req).await.expect("call");
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// The outside client's share of the requests, one after another on one keep-alive
/// connection, tenants alternating (starting with `TENANTS[first]`): so every front connection
/// serves both tenants by construction. (A pool here would open a connection per concurrent
/// request and leave any sharing to timing.) Each request is sent inside its tenant's scope,
/// which `inject` writes into its headers.
async fn send_share(front: SocketAddr, first: usize) -> Vec<(String, String)> {
    let stream = tokio::net::TcpStream::connect(front).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let mut answers = Vec::new();
    for j in 0..REQUESTS / CONNECTIONS {
        let tenant = TENANTS[(first + j) % 2].to_string();
        let mut req = http::Request::get("/")
            .header("host", "127.0.0.1")
            .header("x-expect-tenant", &tenant)
            .body(Empty::<Bytes>::new())
            .unwrap();
        TENANT.sync_scope(tenant.clone(), || ctxflow_http::inject(req.headers_mut()));
        sender.ready().await.unwrap();
        let res = sender.send_request(req).await.expect("front request");
        let answer = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        answers.push((tenant, answer));
    }
    answers
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap()
    });
    addr
}

/// The downstream service: checks what arrived, answers with the tenant it saw.
fn ledger(seen: Arc<Seen>) -> Router {
    let handler = move |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap| {
        let seen = seen.clone();
        async move {
            let tenant = expected(&headers);
            seen.connection("ledger", peer, &tenant);
            seen.check("ledger handler", &tenant);
            TENANT.get().unwrap_or_default()
        }
    };
    Router::new().route("/", get(handler)).layer(ServerLayer::new())
}

/// The front service: checks, spawns children of both kinds, each calling the ledger through
/// one shared connection pool.
fn front(seen: Arc<Seen>, ledger: SocketAddr) -> Router {
    let client = pooled_client();
    let uri = format!("http://{ledger}/");
    let handler = move |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap| {
        let (seen, client, uri) = (seen.clone(), client.clone(), uri.clone());
        async move {
            let tenant = expected(&headers);
            seen.connection("front", peer, &tenant);
            seen.check("front handler", &tenant);
            let wrapped = {
                let (seen, client, uri, tenant) = (seen.clone(), client.clone(), uri.clone(), tenant.clone());
                ctxflow::spawn(async move {
                    seen.check("ctxflow::spawn child", &tenant);
                    call(&client, &uri, &tenant).await
                })
            };
            let plain = {
                let (seen, client, uri, tenant) = (seen.clone(), client.clone(), uri.clone(), tenant.clone());
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    seen.check("tokio::spawn child", &tenant);
                    call(&client, &uri, &tenant).await
                })
            };
            let direct = call(&client, &uri, &tenant).await;
            let answers = [direct, wrapped.await.unwrap(), plain.await.unwrap()];
            seen.check("front handler end", &tenant);
            answers.join(",")
        }
    };
    Router::new().route("/", get(handler)).layer(ServerLayer::new())
}

/// Collects the JSON log lines.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn two_tenants_sharing_connections_workers_and_pools_never_see_each_other() {
    Baggage::export(&TENANT, "tenant").unwrap();
    let logs = Lines::default();
    let fields = ContextFields::new().field("tenant", &TENANT).unset_as("none");
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .map_event_format(|f| fields.wrap(f))
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let seen = Arc::new(Seen::default());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().propagate_context().build().unwrap();
    let answers = rt.block_on(async {
        let ledger_addr = serve(ledger(seen.clone())).await;
        let front_addr = serve(front(seen.clone(), ledger_addr)).await;
        // The outside client: connections in parallel, tenants alternating on each.
        let mut shares = tokio::task::JoinSet::new();
        for c in 0..CONNECTIONS {
            shares.spawn(send_share(front_addr, c % 2));
        }
        let mut answers = Vec::new();
        let all = async {
            while let Some(done) = shares.join_next().await {
                answers.extend(done.unwrap());
            }
        };
        tokio::time::timeout(Duration::from_secs(120), all).await.expect("the requests finished within the bound");
        answers
    });
    drop(rt);

    // Every outgoing call arrived with its own tenant (the ledger answers what it saw).
    assert_eq!(answers.len(), REQUESTS);
    for (tenant, answer) in &answers {
        assert_eq!(answer, &format!("{tenant},{tenant},{tenant}"), "the ledger saw another tenant");
    }
    // Every read in every handler and child.
    let checks = seen.checks.lock().unwrap();
    assert_eq!(checks.len(), REQUESTS * 7, "front handler x2, two children, three ledger calls");
    for (place, expected, got) in checks.iter() {
        assert_eq!(got.as_deref(), Some(expected.as_str()), "{place}");
    }
    // Every log line.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let mut lines = 0;
    for line in text.lines().filter(|l| l.contains("\"checked\"")) {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["tenant"], event["expected"], "{line}");
        lines += 1;
    }
    assert_eq!(lines, REQUESTS * 7, "one log line per check");
    // The tenants really did share connections (both services) and worker threads.
    assert_eq!(seen.shared_connections("front"), CONNECTIONS, "every front connection carried both tenants");
    assert!(seen.shared_connections("ledger") > 0, "no pooled connection carried both tenants");
    let threads = seen.threads.lock().unwrap();
    assert!(threads.values().filter(|t| t.len() == 2).count() >= 2, "both tenants ran on both workers: {threads:?}");
}
