//! One service of ctxflow-http's two-process test (`tests/two_processes.rs` beside this crate).
//!
//! `ctxflow-http-node --name B --log FILE [--next URL]`: serves HTTP on an ephemeral loopback
//! port (printed as `listening ADDR` on stdout), logs one line per request with the context it
//! received, and, when `--next` is given, spawns two tasks that each call the next service
//! (with a declared `hop` variable set) before answering. It exits by itself after
//! `--max-seconds` (default 300) so a crashed test never leaves it running.

use std::convert::Infallible;
use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use ctxflow::ContextVar;
use ctxflow_http::{BAGGAGE, Baggage, ClientLayer, ClientService, REQUEST_ID, ServerLayer, TRACE};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tower_layer::Layer;
use tower_service::Service;

static TENANT: ContextVar<String> = ContextVar::new("tenant");
static HOP: ContextVar<String> = ContextVar::new("hop");

type HttpClient = ClientService<Client<HttpConnector, Full<Bytes>>>;

#[derive(Clone)]
struct Node {
    name: Arc<str>,
    next: Option<Arc<str>>,
    log: Arc<Mutex<File>>,
    client: HttpClient,
}

impl Node {
    /// One log line with everything the current context holds; `baggage=` comes last.
    fn log(&self, what: &str) {
        let trace = TRACE.with(|t| t.map(|t| (t.trace_id.to_string(), t.parent_id.map(|p| p.to_string()))));
        let (trace, parent) = trace.unwrap_or_default();
        let line = format!(
            "{what} rid={} trace={trace} parent={} tenant={} hop={} baggage={}\n",
            REQUEST_ID.get().map(|r| r.to_string()).unwrap_or_default(),
            parent.unwrap_or_default(),
            TENANT.get().unwrap_or_default(),
            HOP.get().unwrap_or_default(),
            BAGGAGE.with(|b| b.map(|b| b.to_string())).unwrap_or_default(),
        );
        let mut file = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = file.write_all(line.as_bytes());
    }

    async fn handle(self) -> Result<Response<Full<Bytes>>, Infallible> {
        self.log(&self.name);
        let mut status = 200;
        if let Some(next) = self.next.clone() {
            let mut calls = Vec::new();
            for k in 0..2 {
                let node = self.clone();
                let next = next.clone();
                calls.push(ctxflow::spawn(async move {
                    tokio::task::yield_now().await;
                    node.log(&format!("{}-child{k}", node.name));
                    let req = Request::get(&*next).body(Full::new(Bytes::new())).ok()?;
                    // `call` reads the context when it is invoked, so it goes inside the scope.
                    let mut client = node.client.clone();
                    let res =
                        HOP.scope(format!("{}{k}", node.name), async move { client.call(req).await }).await.ok()?;
                    res.status().is_success().then_some(())
                }));
            }
            for call in calls {
                if !matches!(call.await, Ok(Some(()))) {
                    status = 502;
                }
            }
        }
        let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
        *res.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
        Ok(res)
    }
}

impl Service<Request<Incoming>> for Node {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<Incoming>) -> Self::Future {
        Box::pin(self.clone().handle())
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let name: Arc<str> = arg("--name").unwrap_or_else(|| "node".into()).into();
    let log = File::create(arg("--log").expect("--log FILE")).expect("create log file");
    let max_seconds: u64 = arg("--max-seconds").and_then(|s| s.parse().ok()).unwrap_or(300);
    Baggage::export(&TENANT, "tenant").expect("declare tenant");
    Baggage::export(&HOP, "hop").expect("declare hop");

    let client = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http());
    let node = Node { name, next: arg("--next").map(Into::into), log: Arc::new(Mutex::new(log)), client };
    let service = ServerLayer::new().layer(node);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    println!("listening {}", listener.local_addr().expect("local addr"));
    let _ = std::io::stdout().flush();

    let serve = async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
            });
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(max_seconds), serve).await;
}
