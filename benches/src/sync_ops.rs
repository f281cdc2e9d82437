//! The synchronous operations, defined once for two runners: criterion (time per operation)
//! and the instruction-count probe (`src/bin/instr.rs`, instructions per operation under
//! valgrind, which no load on a shared machine can change).
//!
//! Groups: `read` (read the value once, beside a `thread_local!` read, an `Arc` clone+drop
//! and a `Box` allocation+free), `poll` (one poll of a never-ready future inside a scope:
//! one enter/exit), `scope_setup` (set a scope up around a ready future, poll it, drop it) and
//! `http_layer` (one request through ctxflow-http's `ServerLayer`, or a pass-through layer,
//! around a service that answers at once), and `spawn_awaits` (spawn a task of 20 yields on a
//! current-thread runtime, plain or with `propagate_context()`, and join it from `block_on`,
//! which is not a task: 21 polls of the task, so the difference of the two over 21 is the
//! runtime hooks' cost per poll; a current-thread runtime keeps the count deterministic under valgrind),
//! `spawn_join` (the same with one poll: a task's spawn and end), `core` (ctxflow's own
//! synchronous operations: see [`core_op`]) and `http_request` (one request through
//! ctxflow-http's layers with its body, headers or not: see [`http_request`]; also with a
//! declared baggage export, in [`COUNTED_ONLY`]), `log_event` (one log line with a
//! request's two fields, or without: see [`crate::log_events`]) and `log_event_json` (the same
//! in JSON).

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Ready;
use std::hint::black_box;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;

use ctxflow_http::ServerLayer;
use http::{Request, Response};
use tower::util::{MapRequestLayer, ServiceFn, service_fn};
use tower::{Layer, Service};

use crate::Contender;
use crate::by_name::{Visitor, visit};
use crate::contenders::REQUEST_ID;
use crate::http_requests;
use crate::log_events::Output;
use crate::polling::{Forever, poll_once, run_ready};
use crate::workloads::{SpawnAwaits, SpawnJoin, Workload};

/// Runs an operation many times: criterion's `Bencher`, or a plain counted loop.
pub trait Runner {
    /// Runs `op` as many times as this runner wants, keeping its output observable.
    fn run<O, F: FnMut() -> O>(&mut self, op: F);
}

/// A runner that calls the operation a fixed number of times.
pub struct Times(pub u64);

impl Runner for Times {
    fn run<O, F: FnMut() -> O>(&mut self, mut op: F) {
        for _ in 0..self.0 {
            black_box(op());
        }
    }
}

/// Every group and its operations, in report order.
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "read",
        &[
            "thread_local",
            "arc_clone_drop",
            "box_alloc_free",
            "ctxflow",
            "ctxflow_with",
            "task_local",
            "tracing",
            "opentelemetry",
        ],
    ),
    ("poll", &["tokio", "ctxflow", "task_local", "tracing", "opentelemetry"]),
    ("scope_setup", &["tokio", "ctxflow", "task_local", "tracing", "opentelemetry"]),
    ("http_layer", &["passthrough", "ctxflow_layer"]),
    ("spawn_awaits", &["tokio", "ctxflow", "ctxflow_noop_hook", "ctxflow_runtime"]),
    ("spawn_join", &["tokio", "ctxflow", "ctxflow_runtime"]),
    ("core", &["sync_scope", "sync_run", "resource_run", "build2", "build3"]),
    ("http_request", &["bare", "layer", "bare_headers", "layer_headers", "bare_client", "client"]),
    ("log_event", crate::log_events::OPERATIONS),
    ("log_event_json", crate::log_events::OPERATIONS),
];

/// Operations only the instruction probe runs, each in a process of its own: they declare a
/// baggage export, which is process-wide and permanent, so they would change every operation
/// timed after them in one criterion process.
pub const COUNTED_ONLY: &[(&str, &[&str])] = &[("http_request_declared", &["layer_headers", "client"])];

thread_local! { static LOCAL: Cell<u64> = const { Cell::new(7) }; }

fn read<C: Contender, R: Runner>(r: &mut R) {
    C::sync_scope(7, || r.run(C::read));
}

fn poll<C: Contender, R: Runner>(r: &mut R) {
    let mut fut = pin!(C::scope(7, Forever));
    let _ = poll_once(fut.as_mut()); // the first poll may build the context
    r.run(|| poll_once(fut.as_mut()));
}

fn setup<C: Contender, R: Runner>(r: &mut R) {
    r.run(|| run_ready(C::scope(7, std::future::ready(1u64))));
}

/// Runs operation `name` of `group` with `runner`; false if there is no such operation.
pub fn run<R: Runner>(group: &str, name: &str, runner: &mut R) -> bool {
    crate::runtimes::install_tracing_registry();
    match (group, name) {
        ("read", "thread_local") => runner.run(|| LOCAL.with(Cell::get)),
        ("read", "arc_clone_drop") => {
            let arc = Arc::new(7u64);
            runner.run(|| Arc::clone(black_box(&arc)));
        }
        ("read", "box_alloc_free") => runner.run(|| Box::new(black_box(7u64))),
        ("read", "ctxflow_with") => REQUEST_ID.sync_scope(7, || runner.run(|| REQUEST_ID.with(|v| v.copied()))),
        // The contenders' operations, for the contenders the group lists.
        ("read" | "poll" | "scope_setup" | "spawn_awaits" | "spawn_join", n) if !listed(group, n) => return false,
        ("read", n) => return visit(n, ForContender { runner, op: Op::Read }),
        ("poll", n) => return visit(n, ForContender { runner, op: Op::Poll }),
        ("scope_setup", n) => return visit(n, ForContender { runner, op: Op::Setup }),
        ("http_layer", "passthrough") => layer_call(runner, MapRequestLayer::new(|req: Request<()>| req)),
        ("http_layer", "ctxflow_layer") => layer_call(runner, ServerLayer::new()),
        ("spawn_awaits", n) => return visit(n, OnCurrentThread::<SpawnAwaits, R> { runner, workload: PhantomData }),
        ("spawn_join", n) => return visit(n, OnCurrentThread::<SpawnJoin, R> { runner, workload: PhantomData }),
        ("core", op) => return core_op(op, runner),
        ("http_request", case) => return http_request(case, runner),
        ("log_event", case) => return crate::log_events::run(Output::Text, case, runner),
        ("log_event_json", case) => return crate::log_events::run(Output::Json, case, runner),
        ("http_request_declared", case) => {
            let _ = ctxflow_http::Baggage::export(&http_requests::TENANT, "tenant");
            return http_request(case, runner);
        }
        _ => return false,
    }
    true
}

static W: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("w");
static X: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("x");

/// ctxflow's own operations, which no contender shares, inside a context of two variables:
/// a synchronous scope (`sync_scope`), a snapshot's and a resource's synchronous run around a
/// read (`sync_run`, `resource_run`), and a snapshot of two or three variables built from the
/// empty context and dropped (`build2`, `build3`: what an HTTP layer does per request).
fn core_op<R: Runner>(op: &str, runner: &mut R) -> bool {
    let snap = ctxflow::Snapshot::capture().with_bindings((REQUEST_ID.value(7), W.value(8)));
    let res = ctxflow::AsyncResource::new("probe");
    snap.sync_run(|| {
        match op {
            "sync_scope" => runner.run(|| REQUEST_ID.sync_scope(black_box(9), || 1)),
            "sync_run" => runner.run(|| snap.sync_run(|| REQUEST_ID.get())),
            "resource_run" => runner.run(|| res.sync_run(|| REQUEST_ID.get())),
            "build2" => {
                runner.run(|| ctxflow::Snapshot::empty().with_bindings((W.value(black_box(1)), REQUEST_ID.value(2))))
            }
            "build3" => runner.run(|| {
                ctxflow::Snapshot::empty().with_bindings((X.value(black_box(1)), W.value(2), REQUEST_ID.value(3)))
            }),
            _ => return false,
        }
        true
    })
}

/// One request through ctxflow-http's layers, everything set up (and one request served)
/// before the counted loop: `ServerLayer` around a service that answers at once (`layer`),
/// with the four trace headers (`_headers`), or the service alone (`bare`); an outgoing
/// request through `ClientLayer` inside a request's context (`client`), or through the sink
/// client alone (`bare_client`). The response body is polled to its end.
fn http_request<R: Runner>(case: &str, runner: &mut R) -> bool {
    let headers = case.ends_with("headers");
    match case {
        "bare" | "bare_headers" => {
            let mut bare = http_requests::inner();
            runner.run(|| http_requests::serve(&mut bare, http_requests::request(headers)));
        }
        "layer" | "layer_headers" => {
            let mut layered = ServerLayer::new().layer(http_requests::inner());
            runner.run(|| http_requests::serve(&mut layered, http_requests::request(headers)));
        }
        "client" => {
            let context = http_requests::request_context();
            let mut client = http_requests::client();
            runner.run(|| http_requests::send(&mut client, &context));
        }
        "bare_client" => {
            let context = http_requests::request_context();
            let mut sink = http_requests::sink();
            runner.run(|| {
                context.sync_run(|| {
                    http_requests::now(tower::ServiceExt::oneshot(&mut sink, http_requests::request(false)))
                })
            });
        }
        _ => return false,
    }
    true
}

/// Workload `W` on a current-thread runtime, one run per operation, from `block_on` (which is
/// not a task) inside a request scope.
struct OnCurrentThread<'a, W, R> {
    runner: &'a mut R,
    workload: PhantomData<W>,
}

impl<W: Workload, R: Runner> Visitor for OnCurrentThread<'_, W, R> {
    fn visit<C: Contender>(self) {
        let rt = C::runtime(crate::runtimes::current_thread_builder());
        self.runner.run(|| rt.block_on(C::scope(7, W::run::<C>())));
    }
}

/// The innermost service of [`layer_call`]: answers at once.
type Answer = ServiceFn<AnswerFn>;
type AnswerFn = fn(Request<()>) -> Ready<Result<Response<()>, Infallible>>;

/// One request (no headers, so the ctxflow layer starts a new trace and request id) through
/// `layer` around a service that answers at once: the layer's own cost per request.
fn layer_call<L, R>(runner: &mut R, layer: L)
where
    L: Layer<Answer>,
    L::Service: Service<Request<()>>,
    R: Runner,
{
    let answer: AnswerFn = |_| std::future::ready(Ok(Response::new(())));
    let mut svc = layer.layer(service_fn(answer));
    runner.run(|| run_ready(svc.call(Request::new(()))).map(|r| r.is_ok()));
}

/// The operations every contender has: a read, a poll or a scope's set-up.
#[derive(Clone, Copy)]
enum Op {
    Read,
    Poll,
    Setup,
}

/// Operation `op` for a contender.
struct ForContender<'a, R> {
    runner: &'a mut R,
    op: Op,
}

impl<R: Runner> Visitor for ForContender<'_, R> {
    fn visit<C: Contender>(self) {
        match self.op {
            Op::Read => read::<C, R>(self.runner),
            Op::Poll => poll::<C, R>(self.runner),
            Op::Setup => setup::<C, R>(self.runner),
        }
    }
}

/// Whether `group` lists operation `name`.
fn listed(group: &str, name: &str) -> bool {
    GROUPS.iter().chain(COUNTED_ONLY).any(|(g, names)| *g == group && names.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_operation_exists_and_no_other() {
        for (group, names) in GROUPS {
            for name in *names {
                assert!(run(group, name, &mut Times(3)), "{group}/{name}");
            }
        }
        for (group, names) in COUNTED_ONLY {
            for name in *names {
                assert!(run(group, name, &mut Times(3)), "{group}/{name}");
            }
        }
        assert!(!run("read", "tokio", &mut Times(1)));
        assert!(!run("nope", "ctxflow", &mut Times(1)));
    }
}
