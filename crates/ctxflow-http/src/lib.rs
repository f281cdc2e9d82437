//! W3C Trace Context and W3C Baggage for ctxflow: request context that crosses HTTP services.
//!
//! * [`ServerLayer`] (tower, so axum and hyper) reads `traceparent`, `tracestate`, `baggage`
//!   and `x-request-id` from each request and runs the whole handling, and everything it spawns
//!   through ctxflow, inside a context holding them: [`TRACE`], [`BAGGAGE`], [`REQUEST_ID`].
//!   A request without a (valid) trace starts a new one; malformed headers are dropped with a
//!   typed error logged at debug level, never rejected. The request id's header can be renamed
//!   and echoed, and other headers bound to your variables
//!   ([`bind_header`](ServerLayer::bind_header), validated and bounded).
//! * [`ClientLayer`] (or [`inject`] for non-tower clients) writes the current context into
//!   outgoing requests: a new parent-id per call, tracestate and baggage forwarded, the
//!   request id kept, and never a header the caller already set.
//! * Which of *your* variables cross the wire is declared: [`Baggage::export`].
//! * The same headers travel on messages (NATS, Kafka, AMQP): [`inject_message`] and
//!   [`IncomingContext::from_message`] over any header map that implements
//!   [`MessageHeaders`].
//!
//! ```
//! use ctxflow::ContextVar;
//! use ctxflow_http::{Baggage, ServerLayer, TRACE};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! static TENANT: ContextVar<String> = ContextVar::new("tenant");
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! Baggage::export(&TENANT, "tenant").unwrap();
//! let svc = ServerLayer::new().layer(service_fn(|_req: http::Request<()>| async {
//!     // Anywhere in the handling of this request, or in tasks it spawns:
//!     let trace = TRACE.with(|t| t.unwrap().trace_id.to_string());
//!     Ok::<_, std::convert::Infallible>(http::Response::new((trace, TENANT.get())))
//! }));
//! let req = http::Request::builder()
//!     .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
//!     .header("baggage", "tenant=acme,other=kept-but-not-bound")
//!     .body(())
//!     .unwrap();
//! let (trace, tenant) = svc.oneshot(req).await.unwrap().into_body().into_inner();
//! assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!(tenant.as_deref(), Some("acme"));
//! # }
//! ```
//!
//! The parsers are strict and bounded exactly as the specs say (see `docs/http.md` in the
//! repository for every rule, the conformance score and the measured costs).
//!
//! # Features
//!
//! | feature | what |
//! |---|---|
//! | `tracing` (default) | malformed incoming headers are logged at debug level through `tracing` |
//! | `opentelemetry` | `From` conversions between these ids and `opentelemetry`'s `TraceId`, `SpanId` and `SpanContext`; outgoing calls and [`current_trace`] follow the span OpenTelemetry holds current |
//! | `reqwest` | `ContextMiddleware`: the context on every request of a `reqwest-middleware` client |
//! | `opentelemetry-sdk` | [`ContextIds`]: OpenTelemetry's spans take `TRACE`'s trace id for traces that start here |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

// The layers, lowest first: a module uses only the modules listed before it.
pub mod header;
mod log;

mod wire;

#[cfg(feature = "opentelemetry")]
mod otel;

mod context;

mod propagation;

mod client;
mod server;

#[cfg(feature = "reqwest")]
pub use client::middleware::ContextMiddleware;
pub use client::{ClientLayer, ClientService};
pub use context::bound_headers::{BoundHeaderError, RejectedHeaders};
pub use context::current::{current_baggage, current_trace};
pub use context::export::{BaggageCodec, DisplayFromStr, ExportError};
#[cfg(feature = "opentelemetry-sdk")]
pub use context::otel_ids::ContextIds;
pub use context::{BAGGAGE, REQUEST_ID, TRACE};
pub use propagation::extract::{ExtractOptions, IncomingContext};
pub use propagation::inject::{InjectOptions, inject, inject_with};
pub use propagation::message::{MessageHeaders, MessageHeadersMut, inject_message, inject_message_with};
pub use server::{ResponseFuture, ScopedBody, ServerLayer, ServerService};
pub use wire::baggage::Baggage;
pub use wire::ids::{IdError, SpanId, TraceFlags, TraceId};
pub use wire::member::{BaggageError, Member, Property};
pub use wire::request_id::{RequestId, RequestIdError};
pub use wire::trace_context::TraceContext;
pub use wire::traceparent::{TraceParent, TraceParentError};
pub use wire::tracestate::{TraceState, TraceStateError};

/// Limits of the W3C specs, as enforced by the parsers.
pub mod limits {
    pub use crate::context::bound_headers::DEFAULT_MAX_LEN as BOUND_HEADER_MAX_LEN;
    pub use crate::wire::member::{MAX_BYTES as BAGGAGE_MAX_BYTES, MAX_MEMBERS as BAGGAGE_MAX_MEMBERS};
    pub use crate::wire::request_id::MAX_LEN as REQUEST_ID_MAX_LEN;
    pub use crate::wire::tracestate::{
        MAX_KEY_LEN as TRACESTATE_MAX_KEY_LEN, MAX_MEMBERS as TRACESTATE_MAX_MEMBERS,
        MAX_VALUE_LEN as TRACESTATE_MAX_VALUE_LEN,
    };
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
