//! The HTTP service users actually run, three ways, for the `http` probe's stack comparison.
//!
//! Every variant serves the same handler on one tokio worker: it logs an event, spawns a task
//! that logs and answers, calls a downstream service over HTTP/1.1 (a pooled hyper client) and
//! logs again. Events at `INFO` and above (what a service usually keeps; the libraries' debug
//! and trace events are filtered out) go through a `tracing_subscriber::fmt` layer into
//! `io::sink()`, so their formatting is paid and nothing is written.
//!
//! - `stack_bare`: no request context at all; plain `tokio::spawn`.
//! - `stack_by_hand`: the same features as `stack_ctxflow`, with no context library: the
//!   handler reads the trace and request id from the headers (ctxflow-http's parsers, as
//!   `ServerLayer` does), passes them along as arguments, logs them as each event's own fields,
//!   moves them into the plain `tokio::spawn`ed task, and writes the outgoing call's
//!   `traceparent` and `x-request-id` itself. What these features cost wherever the context
//!   lives: the floor for `stack_ctxflow`.
//! - `stack_ctxflow`: ctxflow-http's `ServerLayer` (trace and request id from the headers),
//!   ctxflow-tracing's fields (request id, trace id) on every event, `ctxflow::spawn`, and
//!   `ClientLayer` on the outgoing call.
//! - `stack_automatic`: the same as `stack_ctxflow`, but the task is spawned with plain
//!   `tokio::spawn` on a runtime built with ctxflow's `propagate_context()`.
//! - `stack_otel`: today's usual way: tower-http's `TraceLayer` opening a request span whose
//!   parent is extracted from the headers with `opentelemetry-http`, tracing-opentelemetry
//!   turning spans into OpenTelemetry spans (an SDK tracer provider with no exporter, so spans
//!   are built and ended but not shipped), `Instrument` on the spawned task, and the current
//!   span's context injected into the outgoing call's headers.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request as Incoming, State};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use ctxflow::runtime::BuilderExt;
use ctxflow_http::{ExtractOptions, IncomingContext, RequestId, TraceContext};
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::TracerProvider as _;
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument;

use crate::child_server::{listen_and_serve, listen_and_serve_on, one_worker};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::{DefaultFields, Format};
use tracing_subscriber::layer::SubscriberExt;

/// The variants of the stack comparison, in report order.
pub const STACK_VARIANTS: [&str; 5] = ["stack_bare", "stack_by_hand", "stack_ctxflow", "stack_automatic", "stack_otel"];

/// Whether `variant` carries ctxflow's context (its layers, fields and spawned task's context).
fn uses_ctxflow(variant: &str) -> bool {
    matches!(variant, "stack_ctxflow" | "stack_automatic")
}

type Plain = Client<HttpConnector, Empty<Bytes>>;

/// How the handler reaches the downstream service, and how it spawns.
#[derive(Clone)]
struct Calls {
    downstream: Uri,
    client: Plain,
    variant: &'static str,
}

/// What `stack_by_hand` reads from a request's headers and passes along.
#[derive(Clone)]
struct Ids {
    request_id: RequestId,
    trace: TraceContext,
}

impl Ids {
    /// What `ServerLayer` reads: the trace continued from the `traceparent` (a new one without),
    /// the request id received (a new one without).
    fn of(req: &Incoming) -> Ids {
        let IncomingContext { request_id, trace, .. } =
            IncomingContext::from_headers(req.headers(), &ExtractOptions::default());
        Ids { request_id, trace }
    }

    /// The outgoing call's headers, as `ClientLayer` writes them: a `traceparent` with a new
    /// parent-id, and the request id.
    fn write_into(&self, req: &mut Request<Empty<Bytes>>) {
        let headers = req.headers_mut();
        if let Ok(value) = HeaderValue::try_from(self.trace.child().to_string()) {
            headers.insert(ctxflow_http::header::TRACEPARENT, value);
        }
        if let Ok(value) = HeaderValue::from_str(self.request_id.as_str()) {
            headers.insert(ctxflow_http::header::REQUEST_ID, value);
        }
    }
}

impl Calls {
    /// The downstream call's status; `ids` are written into it by hand (`stack_by_hand`).
    async fn downstream(&self, ids: Option<&Ids>) -> u16 {
        let mut req = Request::get(self.downstream.clone()).body(Empty::new()).expect("a request");
        if let Some(ids) = ids {
            ids.write_into(&mut req);
        }
        let res = match self.variant {
            v if uses_ctxflow(v) => ctxflow_http::ClientLayer::new().layer(self.client.clone()).oneshot(req).await,
            "stack_otel" => {
                let mut req = req;
                let cx = tracing::Span::current().context();
                opentelemetry::global::get_text_map_propagator(|p| {
                    p.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(req.headers_mut()))
                });
                self.client.clone().oneshot(req).await
            }
            _ => self.client.clone().oneshot(req).await,
        };
        match res {
            Ok(res) => {
                let status = res.status().as_u16();
                // The body is read to its end, as a real caller would.
                let _ = res.into_body().collect().await;
                status
            }
            Err(_) => 502,
        }
    }

    /// 1 if the spawned task ran with the request's context, where the variant carries one.
    async fn spawned(&self) -> u64 {
        let carries = uses_ctxflow(self.variant);
        let work = async move {
            tracing::info!(step = "child", "spawned work");
            u64::from(!carries || ctxflow_http::REQUEST_ID.with(|id| id.is_some()))
        };
        let joined = match self.variant {
            "stack_ctxflow" => ctxflow::spawn(work).await,
            "stack_otel" => tokio::spawn(work.in_current_span()).await,
            _ => tokio::spawn(work).await,
        };
        joined.unwrap_or(0)
    }
}

async fn handler(State(calls): State<Calls>) -> &'static str {
    tracing::info!(route = "/", "request received");
    let spawned = calls.spawned().await;
    let status = calls.downstream(None).await;
    tracing::info!(status, spawned, "downstream answered");
    if spawned == 1 { "ok" } else { "the spawned task ran without the request's context" }
}

/// [`handler`] with the ids passed by hand (`stack_by_hand`): the same events, each with the
/// fields that `stack_ctxflow` adds from the context.
async fn by_hand(State(calls): State<Calls>, req: Incoming) -> &'static str {
    let ids = Ids::of(&req);
    let (request_id, trace_id) = (&ids.request_id, ids.trace.trace_id);
    tracing::info!(route = "/", request_id = %request_id, trace_id = %trace_id, "request received");
    let child = ids.clone();
    let spawned = tokio::spawn(async move {
        let (request_id, trace_id) = (&child.request_id, child.trace.trace_id);
        tracing::info!(step = "child", request_id = %request_id, trace_id = %trace_id, "spawned work");
    })
    .await
    .map_or(0, |()| 1);
    let status = calls.downstream(Some(&ids)).await;
    tracing::info!(status, spawned, request_id = %request_id, trace_id = %trace_id, "downstream answered");
    "ok"
}

/// Installs the variant's subscriber (and, for `stack_otel`, the propagator).
fn install_logging(variant: &str) {
    match variant {
        v if uses_ctxflow(v) => {
            let fields = crate::log_events::request_fields();
            let fmt = fmt_layer().map_event_format(|format| fields.wrap(format));
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(LevelFilter::INFO).with(fmt))
        }
        "stack_otel" => {
            opentelemetry::global::set_text_map_propagator(
                opentelemetry_sdk::propagation::TraceContextPropagator::new(),
            );
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
            let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("service"));
            // Kept for the life of the process, as a service keeps its provider.
            std::mem::forget(provider);
            tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(LevelFilter::INFO).with(otel).with(fmt_layer()),
            )
        }
        _ => tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(LevelFilter::INFO).with(fmt_layer()),
        ),
    }
    .expect("the only subscriber");
}

/// Text lines, formatted and thrown away.
fn fmt_layer<S>() -> tracing_subscriber::fmt::Layer<S, DefaultFields, Format, fn() -> std::io::Sink> {
    tracing_subscriber::fmt::layer().with_ansi(false).with_writer(std::io::sink)
}

/// The request span of `stack_otel`: its OpenTelemetry parent comes from the headers.
fn otel_span(req: &Request<Body>) -> tracing::Span {
    let span = tracing::info_span!("request", method = %req.method(), uri = %req.uri());
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
    });
    let _ = span.set_parent(parent);
    span
}

/// Serves `variant` on a loopback port (printed as `PORT <n>`), calling `downstream`.
pub fn serve(variant: &str, downstream: SocketAddr) {
    let variant: &'static str = STACK_VARIANTS.into_iter().find(|v| *v == variant).unwrap_or("stack_bare");
    install_logging(variant);
    let mut runtime = one_worker();
    if variant == "stack_automatic" {
        runtime.propagate_context();
    }
    listen_and_serve_on(runtime.enable_all().build().expect("a runtime"), |listener| async move {
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
        let downstream = format!("http://{downstream}/").parse().expect("a downstream uri");
        let route = if variant == "stack_by_hand" { get(by_hand) } else { get(handler) };
        let app = Router::new().route("/", route).with_state(Calls { downstream, client, variant });
        match variant {
            v if uses_ctxflow(v) => serve_with(listener, ctxflow_http::ServerLayer::new().layer(app)).await,
            "stack_otel" => {
                let traced = tower_http::trace::TraceLayer::new_for_http().make_span_with(otel_span).layer(app);
                serve_with(listener, traced).await
            }
            _ => serve_with(listener, app).await,
        }
    });
}

/// Serves `svc` with axum, the whole stack wrapped once.
async fn serve_with<S, B: 'static>(listener: tokio::net::TcpListener, svc: S)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    Response<B>: IntoResponse,
{
    let app = ServiceExt::<Request<Body>>::map_response(svc, IntoResponse::into_response);
    axum::serve(listener, axum::ServiceExt::<Request<Body>>::into_make_service(app)).await.expect("the server runs");
}

/// The downstream service: answers at once.
pub fn serve_downstream() {
    listen_and_serve(|listener| async move {
        let app = Router::new().route("/", get(|| async { "downstream" }));
        axum::serve(listener, app).await.expect("the downstream runs");
    });
}
