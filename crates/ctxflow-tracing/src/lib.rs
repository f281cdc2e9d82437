//! Context variables of [`ctxflow`] as fields of every log line: the request id, tenant or
//! trace id of the request that emitted an event, in text and JSON output, without wrapping
//! anything in spans.
//!
//! Spans can carry a request id too, but only where someone opened one, and only into code
//! that runs inside it: a task spawned without `.instrument(..)`, a blocking closure or a rayon
//! job loses it. ctxflow already carries the context into all of those, so the log line just
//! has to read it at the moment it is written.
//!
//! ```
//! use ctxflow::ContextVar;
//! use ctxflow_tracing::ContextFields;
//! use tracing_subscriber::fmt;
//!
//! static REQUEST_ID: ContextVar<String> = ContextVar::new("request_id");
//! static TENANT: ContextVar<&str> = ContextVar::new("tenant");
//!
//! let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
//! let subscriber = fmt()
//!     .map_event_format(|format| fields.wrap(format)) // or .json().map_event_format(..)
//!     .with_writer(std::io::stdout)
//!     .finish();
//! tracing::subscriber::with_default(subscriber, || {
//!     REQUEST_ID.sync_scope("req-7".to_string(), || {
//!         // 2025-01-01T00:00:00.000000Z  INFO rust_out: handled request_id=req-7
//!         tracing::info!("handled");
//!     });
//! });
//! ```
//!
//! - [`ContextFields`] chooses the variables and field names.
//! - [`ContextFields::wrap`] adds them to tracing-subscriber's `Full`, `Compact`, `Pretty` and
//!   `Json` formats ([`ContextFormat`]); [`ContextFields::wrap_event_format`] to a format of
//!   your own.
//! - An event's own field wins over a context field of the same name, so no key repeats (in
//!   JSON, neither does a key of the format's own: `level`, `fields`, `span`, ...).
//! - [`ContextLog`] adds them to records of the `log` crate (feature `log`, on by default).
//! - [`ContextFields::for_each_current`] reads them from a `Layer` of your own.
//! - [`SpanContexts`], a tracing layer, makes a span carry the ctxflow context it was created
//!   in to code that enters it elsewhere (tower's `Buffer` worker, say).
//! - [`SpansFollowSpawns`], a ctxflow hook, makes work spawned through ctxflow run inside the
//!   tracing span current at its spawn, so that spans it opens are children of that span.
//!
//! Setup, output samples and the measured cost: `docs/logging.md` in the repository.
//!
//! # Features
//!
//! | feature | what |
//! |---|---|
//! | `json` (default) | the fields in tracing-subscriber's JSON format |
//! | `log` (default) | [`ContextLog`]: the fields on records of the `log` crate |
//! | `opentelemetry` | `ContextFieldsProcessor`: the fields on OpenTelemetry log records |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod context_fields;
mod format;
#[cfg(feature = "log")]
mod log_bridge;
#[cfg(feature = "opentelemetry")]
mod otel_logs;
mod render;
mod span_contexts;
mod spawned_spans;
mod splice;

pub use context_fields::ContextFields;
pub use format::{ContextFormat, Layout, WrappedFormat};
#[cfg(feature = "log")]
pub use log_bridge::{Carry, ContextLog};
#[cfg(feature = "opentelemetry")]
pub use otel_logs::ContextFieldsProcessor;
pub use render::Style;
pub use span_contexts::SpanContexts;
pub use spawned_spans::SpansFollowSpawns;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
