//! One request value, five ways to carry it: the contenders of every benchmark.
//!
//! Each contender answers the same three questions: how a request's value is set around a
//! future, how a spawned task inherits it, and how code reads it; and the one that needs it
//! says which runtime it runs on. [`Plain`] carries nothing and is the baseline: a ratio to it
//! is the whole price of having a context.

use std::future::Future;
use std::hint::black_box;

use opentelemetry::context::FutureExt as _;
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::runtimes::propagating;

/// The request value every workload sets and reads.
pub static REQUEST_ID: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("request_id");

tokio::task_local! {
    /// The same value as a `tokio::task_local!`.
    pub static TASK_REQUEST_ID: u64;
}

/// The same value as an OpenTelemetry context entry.
#[derive(Clone, Copy, Debug)]
pub struct OtelRequestId(pub u64);

/// A way of carrying a request value through async code.
pub trait Contender: Send + Sync + 'static {
    /// The name in tables and charts.
    const NAME: &'static str;

    /// `fut`, running with the request value set to `id`.
    fn scope<F: Future + Send>(id: u64, fut: F) -> impl Future<Output = F::Output> + Send;

    /// `f`, run with the request value set to `id` (for the synchronous read benchmarks).
    fn sync_scope<R>(id: u64, f: impl FnOnce() -> R) -> R;

    /// Spawns `fut` on the current tokio runtime so that it sees the spawner's value.
    fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// The current request value (0 when unset).
    fn read() -> u64;

    /// A runtime of `flavor` (a builder from [`crate::runtimes`]) to run this contender on.
    fn runtime(mut flavor: Builder) -> Runtime {
        flavor.enable_all().build().expect("a tokio runtime")
    }
}

/// Plain tokio, no context at all: the baseline.
pub struct Plain;

impl Contender for Plain {
    const NAME: &'static str = "tokio";

    fn scope<F: Future + Send>(_id: u64, fut: F) -> impl Future<Output = F::Output> + Send {
        fut
    }

    fn sync_scope<R>(_id: u64, f: impl FnOnce() -> R) -> R {
        f()
    }

    fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(fut)
    }

    fn read() -> u64 {
        black_box(0)
    }
}

/// ctxflow: a `ContextVar` scope, `ctxflow::spawn`, `get`.
pub struct Ctxflow;

impl Contender for Ctxflow {
    const NAME: &'static str = "ctxflow";

    fn scope<F: Future + Send>(id: u64, fut: F) -> impl Future<Output = F::Output> + Send {
        REQUEST_ID.scope(id, fut)
    }

    fn sync_scope<R>(id: u64, f: impl FnOnce() -> R) -> R {
        REQUEST_ID.sync_scope(id, f)
    }

    fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        ctxflow::spawn(fut)
    }

    fn read() -> u64 {
        REQUEST_ID.get().unwrap_or(0)
    }
}

/// `tokio::task_local!`: a scope per task, propagated by hand at each spawn.
pub struct TaskLocal;

impl Contender for TaskLocal {
    const NAME: &'static str = "task_local";

    fn scope<F: Future + Send>(id: u64, fut: F) -> impl Future<Output = F::Output> + Send {
        TASK_REQUEST_ID.scope(id, fut)
    }

    fn sync_scope<R>(id: u64, f: impl FnOnce() -> R) -> R {
        TASK_REQUEST_ID.sync_scope(id, f)
    }

    fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(TASK_REQUEST_ID.scope(Self::read(), fut))
    }

    fn read() -> u64 {
        TASK_REQUEST_ID.try_with(|id| *id).unwrap_or(0)
    }
}

/// `tracing`: a span per request, `Instrument`/`in_current_span` at each spawn, and
/// `Span::current()` to read (the span's id stands for the value: tracing has no getter for
/// a field's value without a custom layer).
pub struct Tracing;

impl Contender for Tracing {
    const NAME: &'static str = "tracing";

    fn scope<F: Future + Send>(id: u64, fut: F) -> impl Future<Output = F::Output> + Send {
        fut.instrument(tracing::info_span!("request", id))
    }

    fn sync_scope<R>(id: u64, f: impl FnOnce() -> R) -> R {
        tracing::info_span!("request", id).in_scope(f)
    }

    fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(fut.in_current_span())
    }

    fn read() -> u64 {
        tracing::Span::current().id().map_or(0, |id| id.into_u64())
    }
}

/// `opentelemetry`: a `Context` entry per request, `with_current_context` at each spawn, and
/// `Context::current().get()` to read.
pub struct Opentelemetry;

impl Contender for Opentelemetry {
    const NAME: &'static str = "opentelemetry";

    fn scope<F: Future + Send>(id: u64, fut: F) -> impl Future<Output = F::Output> + Send {
        fut.with_context(opentelemetry::Context::current_with_value(OtelRequestId(id)))
    }

    fn sync_scope<R>(id: u64, f: impl FnOnce() -> R) -> R {
        let _attached = opentelemetry::Context::current_with_value(OtelRequestId(id)).attach();
        f()
    }

    fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(fut.with_current_context())
    }

    fn read() -> u64 {
        opentelemetry::Context::current().get::<OtelRequestId>().map_or(0, |r| r.0)
    }
}

/// ctxflow's automatic propagation: `VAR.scope` and `get`, but plain `tokio::spawn`, on a
/// runtime built with `propagate_context()` (see [`crate::runtimes::propagating`]).
pub struct Automatic;

/// The same as [`Ctxflow`] but for `spawn`.
impl Contender for Automatic {
    const NAME: &'static str = "ctxflow_runtime";

    fn scope<F: Future + Send>(id: u64, fut: F) -> impl Future<Output = F::Output> + Send {
        Ctxflow::scope(id, fut)
    }

    fn sync_scope<R>(id: u64, f: impl FnOnce() -> R) -> R {
        Ctxflow::sync_scope(id, f)
    }

    fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(fut)
    }

    fn read() -> u64 {
        Ctxflow::read()
    }

    /// With ctxflow's task hooks installed, which plain `tokio::spawn` needs to inherit.
    fn runtime(flavor: Builder) -> Runtime {
        propagating(flavor)
    }
}
