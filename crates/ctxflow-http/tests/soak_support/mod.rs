//! The soak: requests through ctxflow-http's server and client layers on an opted-in runtime
//! (plain `tokio::spawn` children inherit), with random cancellation and panics, every context
//! read checked against what the client sent, and ctxflow's counters checked for leaks at the
//! end. Shared by `tests/soak.rs` (every CI run) and `examples/soak.rs` (`scripts/soak.sh`).
//!
//! Each request is unique (tenant, request id and number), so any value that crosses from one
//! request to another is a wrong read. The client sends the truth twice: through its own
//! context (the client layer injects `baggage: tenant=..` and `x-request-id`) and in plain
//! `x-expect-*` headers built from local variables. The handler, its children, grandchildren
//! and blocking jobs compare their reads with the plain headers.

#![allow(dead_code)] // the test and the example use different parts

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow::runtime::BuilderExt;
use ctxflow_http::{Baggage, ClientLayer, REQUEST_ID, RequestId, ServerLayer};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

/// The tenant, carried across the wire as baggage.
pub static TENANT: ContextVar<String> = ContextVar::new("tenant");
/// Written by each handler with `set`; must never be seen by another request.
static SCRATCH: ContextVar<u64> = ContextVar::new("scratch");
/// Set by every handler: each context that holds one is a request's, so the witnesses alive
/// after the load are the request contexts that leaked.
static WITNESS: ContextVar<Witness> = ContextVar::new("witness");
static WITNESSES: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Counts itself alive.
struct Witness;

impl Witness {
    fn new() -> Witness {
        WITNESSES.fetch_add(1, Ordering::Relaxed);
        Witness
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        WITNESSES.fetch_sub(1, Ordering::Relaxed);
    }
}

static CHECKS: AtomicU64 = AtomicU64::new(0);
static WRONG: AtomicU64 = AtomicU64::new(0);

/// The payload of the panics the soak causes on purpose (silenced in the panic hook).
struct Intended;

/// What one request must see, from the client's plain headers.
#[derive(Clone)]
struct Expected {
    tenant: String,
    request: String,
    number: u64,
}

impl Expected {
    fn from_headers(h: &HeaderMap) -> Option<Expected> {
        let text = |name: &str| h.get(name)?.to_str().ok().map(str::to_owned);
        Some(Expected {
            tenant: text("x-expect-tenant")?,
            request: text("x-expect-request")?,
            number: text("x-expect-n")?.parse().ok()?,
        })
    }

    /// Checks the request's context; `scratch` is what `SCRATCH` must hold here.
    fn check(&self, place: &str, scratch: Option<u64>) {
        let seen = (TENANT.get(), REQUEST_ID.get().map(|r| r.to_string()), SCRATCH.get());
        let ok =
            seen.0.as_deref() == Some(&self.tenant) && seen.1.as_deref() == Some(&self.request) && seen.2 == scratch;
        read(ok, || format!("{place}: request {} saw {seen:?}", self.request));
    }
}

/// Counts one checked read; reports the first wrong ones.
fn read(ok: bool, what: impl FnOnce() -> String) {
    CHECKS.fetch_add(1, Ordering::Relaxed);
    if !ok && WRONG.fetch_add(1, Ordering::Relaxed) < 10 {
        eprintln!("WRONG READ: {}", what());
    }
}

/// What a request does besides the common part, chosen by the client (`x-mode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Children, a grandchild, awaits.
    Plain,
    /// A looping child is aborted mid-run.
    Abort,
    /// A future inside its own scope is dropped mid-run (`select!`).
    DropScope,
    /// A child panics; the handler goes on.
    ChildPanic,
    /// The handler panics after spawning a detached child (the connection is closed).
    HandlerPanic,
    /// The handler is slow; the client gives up and disconnects mid-request.
    Disconnect,
    /// A blocking job through `ctxflow::spawn_blocking`.
    Blocking,
}

impl Mode {
    fn pick(n: u64, seed: u64) -> Mode {
        match splitmix(n ^ seed) % 100 {
            0..70 => Mode::Plain,
            70..78 => Mode::Abort,
            78..85 => Mode::DropScope,
            85..90 => Mode::ChildPanic,
            90..93 => Mode::HandlerPanic,
            93..96 => Mode::Disconnect,
            _ => Mode::Blocking,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::Abort => "abort",
            Mode::DropScope => "drop",
            Mode::ChildPanic => "child-panic",
            Mode::HandlerPanic => "panic",
            Mode::Disconnect => "disconnect",
            Mode::Blocking => "blocking",
        }
    }

    fn from_name(name: &str) -> Option<Mode> {
        [
            Mode::Plain,
            Mode::Abort,
            Mode::DropScope,
            Mode::ChildPanic,
            Mode::HandlerPanic,
            Mode::Disconnect,
            Mode::Blocking,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

async fn handler(headers: HeaderMap) -> (StatusCode, &'static str) {
    let (Some(e), Some(mode)) =
        (Expected::from_headers(&headers), headers.get("x-mode").and_then(|m| Mode::from_name(m.to_str().ok()?)))
    else {
        return (StatusCode::BAD_REQUEST, "missing x-expect headers");
    };
    let wrong_before = WRONG.load(Ordering::Relaxed);
    e.check("handler start", None);
    WITNESS.set(Witness::new()).unwrap();
    SCRATCH.set(e.number).unwrap();
    tokio::task::yield_now().await;
    let mine = Some(e.number);
    e.check("handler after set and yield", mine);

    // Automatic propagation: plain tokio::spawn, and a grandchild spawned from it.
    let child = {
        let e = e.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            e.check("plain child", mine);
            let e2 = e.clone();
            tokio::spawn(async move { e2.check("plain grandchild", mine) }).await.unwrap();
        })
    };
    let wrapped = {
        let e = e.clone();
        ctxflow::spawn(async move { e.check("ctxflow::spawn child", mine) })
    };

    match mode {
        Mode::Plain => {}
        Mode::Abort => {
            let e2 = e.clone();
            let looping = tokio::spawn(async move {
                loop {
                    e2.check("looping child", mine);
                    tokio::task::yield_now().await;
                }
            });
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            looping.abort();
            read(looping.await.is_err_and(|j| j.is_cancelled()), || "the aborted child was not cancelled".into());
        }
        Mode::DropScope => {
            let intruder = TENANT.scope("intruder".to_string(), async {
                loop {
                    read(TENANT.get().as_deref() == Some("intruder"), || "inside the dropped scope".into());
                    tokio::task::yield_now().await;
                }
            });
            tokio::select! {
                _ = intruder => {}
                _ = async { for _ in 0..2 { tokio::task::yield_now().await } } => {}
            }
            e.check("after dropping a scope mid-run", mine);
        }
        Mode::ChildPanic => {
            let e2 = e.clone();
            let panicking = tokio::spawn(async move {
                e2.check("child before its panic", mine);
                std::panic::panic_any(Intended)
            });
            read(panicking.await.is_err_and(|j| j.is_panic()), || "the child did not panic".into());
            e.check("after a child's panic", mine);
        }
        Mode::HandlerPanic => {
            let e2 = e.clone();
            drop(tokio::spawn(async move {
                tokio::task::yield_now().await;
                e2.check("detached child of a panicking handler", mine);
            }));
            std::panic::panic_any(Intended);
        }
        Mode::Disconnect => {
            tokio::time::sleep(Duration::from_millis(20)).await;
            e.check("after the client left", mine);
        }
        Mode::Blocking => {
            let e2 = e.clone();
            ctxflow::spawn_blocking(move || e2.check("blocking job", mine)).await.unwrap();
        }
    }
    child.await.unwrap();
    wrapped.await.unwrap();
    e.check("handler end", mine);
    if WRONG.load(Ordering::Relaxed) == wrong_before { (StatusCode::OK, "ok") } else { (StatusCode::OK, "wrong") }
}

/// What a soak run measured.
#[derive(Debug)]
pub struct Report {
    pub requests: u64,
    pub elapsed: Duration,
    /// Context reads checked (server side and client side).
    pub checks: u64,
    pub wrong_reads: u64,
    /// Requests answered "ok" (the modes that answer).
    pub answered: u64,
    /// Requests that failed on the client as the mode intends (handler panic, disconnect).
    pub failed_as_intended: u64,
    /// Requests that failed otherwise (not a context error; reported, not hidden).
    pub unexpected: u64,
    /// Request contexts still alive after the load (see `WITNESS`).
    pub leaked_contexts: i64,
    pub leaked_resources: i64,
    pub leaked_tasks: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = self.requests as f64 / self.elapsed.as_secs_f64();
        writeln!(f, "requests:           {} in {:.1?} ({rate:.0} requests/s)", self.requests, self.elapsed)?;
        writeln!(
            f,
            "answered / failed as intended / unexpected: {} / {} / {}",
            self.answered, self.failed_as_intended, self.unexpected
        )?;
        writeln!(f, "context reads checked: {}", self.checks)?;
        writeln!(f, "wrong reads:        {}", self.wrong_reads)?;
        writeln!(f, "leaked contexts:    {}", self.leaked_contexts)?;
        writeln!(f, "leaked resources:   {}", self.leaked_resources)?;
        write!(f, "leaked tasks:       {}", self.leaked_tasks)
    }
}

/// Runs `requests` requests from `concurrency` client tasks on a 2-worker opted-in runtime
/// that serves them too, then shuts it down and reads the counters.
pub fn run(requests: u64, concurrency: u64, seed: u64) -> Report {
    silence_intended_panics();
    let _ = Baggage::export(&TENANT, "tenant");
    let (checks0, wrong0) = (CHECKS.load(Ordering::Relaxed), WRONG.load(Ordering::Relaxed));
    ctxflow_diagnostics::registry::enable();
    let start = ctxflow_diagnostics::stats();
    let witnesses = WITNESSES.load(Ordering::Relaxed);
    let tasks_before = ctxflow::runtime::tracked_tasks();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .propagate_context()
        .build()
        .expect("runtime");
    let began = Instant::now();
    let (answered, failed_as_intended, unexpected) = rt.block_on(load(requests, concurrency, seed));
    let elapsed = began.elapsed();
    rt.shutdown_timeout(Duration::from_secs(30));

    let end = ctxflow_diagnostics::stats();
    Report {
        requests,
        elapsed,
        checks: CHECKS.load(Ordering::Relaxed) - checks0,
        wrong_reads: WRONG.load(Ordering::Relaxed) - wrong0,
        answered,
        failed_as_intended,
        unexpected,
        leaked_contexts: WITNESSES.load(Ordering::Relaxed) - witnesses,
        leaked_resources: end.live_resources as i64 - start.live_resources as i64,
        leaked_tasks: ctxflow::runtime::tracked_tasks().saturating_sub(tasks_before),
    }
}

async fn load(requests: u64, concurrency: u64, seed: u64) -> (u64, u64, u64) {
    let app = Router::new().route("/", get(handler)).layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let next = std::sync::Arc::new(AtomicU64::new(0));
    let counts = std::sync::Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, counts) = (client.clone(), next.clone(), counts.clone());
        let uri: http::Uri = format!("http://{addr}/").parse().expect("uri");
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= requests {
                    break;
                }
                let outcome = one_request(&client, &uri, n, Mode::pick(n, seed)).await;
                counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("client task");
    }
    (counts[0].load(Ordering::Relaxed), counts[1].load(Ordering::Relaxed), counts[2].load(Ordering::Relaxed))
}

#[derive(Clone, Copy)]
enum Outcome {
    Answered = 0,
    FailedAsIntended = 1,
    Unexpected = 2,
}

type SoakClient = ctxflow_http::ClientService<Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>>;

async fn one_request(client: &SoakClient, uri: &http::Uri, n: u64, mode: Mode) -> Outcome {
    let tenant = format!("tenant-{}-{n}", n % 7);
    let request = format!("r{n}");
    let req = http::Request::get(uri.clone())
        .header("x-expect-tenant", &tenant)
        .header("x-expect-request", &request)
        .header("x-expect-n", n.to_string())
        .header("x-mode", mode.name())
        .body(Empty::new())
        .expect("request");
    let id: RequestId = request.parse().expect("request id");
    let expected = (Some(tenant.clone()), Some(request.clone()));
    let call = ctxflow::scope((TENANT.value(tenant), REQUEST_ID.value(id)), async move {
        // `oneshot` calls the client layer here, inside this request's context.
        let sent = client.clone().oneshot(req);
        let result = if mode == Mode::Disconnect {
            match tokio::time::timeout(Duration::from_millis(2), sent).await {
                Ok(r) => r.map(Some),
                Err(_) => Ok(None), // gave up: the request future is dropped mid-flight
            }
        } else {
            sent.await.map(Some)
        };
        let body = match result {
            Ok(Some(res)) => Ok(Some(res.into_body().collect().await.map(|b| b.to_bytes()))),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let seen = (TENANT.get(), REQUEST_ID.get().map(|r| r.to_string()));
        read(seen == expected, || format!("client after the call: {seen:?} != {expected:?}"));
        body
    });
    match (call.await, mode) {
        (Ok(Some(Ok(body))), _) if &body[..] == b"ok" => Outcome::Answered,
        (Ok(Some(Ok(body))), _) if &body[..] == b"wrong" => Outcome::Answered, // counted server-side
        (Ok(None), Mode::Disconnect) | (Err(_), Mode::HandlerPanic) | (Ok(Some(Err(_))), Mode::HandlerPanic) => {
            Outcome::FailedAsIntended
        }
        _ => Outcome::Unexpected,
    }
}

fn silence_intended_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Intended>() {
                default(info);
            }
        }));
    });
}
