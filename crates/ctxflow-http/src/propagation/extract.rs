//! From incoming headers to the bindings of one request's context.
//!
//! Every header is read independently and a bad one only loses itself: an invalid
//! `traceparent` restarts the trace (and, as the spec says, takes `tracestate` with it), a bad
//! baggage member loses that member, a bad `x-request-id` is replaced. Each drop is reported
//! through [`log`](crate::log) with its typed error; nothing here can fail a request.

use std::sync::Arc;

use ctxflow::{Binding, Snapshot};
use http::{HeaderMap, HeaderName};

use crate::context::export::bind_declared;
use crate::context::{BAGGAGE, REQUEST_ID, TRACE};
use crate::header;
use crate::log::dropped;
use crate::wire::baggage::Baggage;
use crate::wire::header_fields::{self, Fields};
use crate::wire::request_id::RequestId;
use crate::wire::trace_context::TraceContext;
use crate::wire::traceparent::TraceParent;
use crate::wire::tracestate::TraceState;

/// Where the request id is read from, and how new traces and request ids are made when the
/// request brings none (or a bad one).
///
/// ```
/// let o = ctxflow_http::ExtractOptions::default();
/// assert!(o.sample_new_traces && o.accept_request_id);
/// assert_eq!(o.request_id_header, "x-request-id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// Whether a trace started here is marked sampled (default `true`).
    pub sample_new_traces: bool,
    /// Whether a valid incoming request id is kept (default `true`); otherwise every request
    /// gets a fresh id.
    pub accept_request_id: bool,
    /// The header the request id comes in (default [`header::REQUEST_ID`], `x-request-id`).
    pub request_id_header: HeaderName,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions { sample_new_traces: true, accept_request_id: true, request_id_header: header::REQUEST_ID }
    }
}

/// The context a request brings: trace, baggage and request id, read from its headers.
///
/// ```
/// use ctxflow_http::{IncomingContext, ExtractOptions, TRACE};
/// let mut h = http::HeaderMap::new();
/// h.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// h.insert("baggage", "tenant=acme".parse().unwrap());
/// let incoming = IncomingContext::from_headers(&h, &ExtractOptions::default());
/// assert_eq!(incoming.trace.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// let seen = ctxflow::sync_scope(incoming.into_bindings(), || TRACE.with(|t| t.unwrap().trace_id));
/// assert_eq!(seen.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// ```
#[derive(Debug, Clone)]
pub struct IncomingContext {
    /// The continued trace, or a new one.
    pub trace: TraceContext,
    /// The incoming baggage (possibly empty).
    pub baggage: Baggage,
    /// The request id, received or generated.
    pub request_id: RequestId,
}

impl IncomingContext {
    /// Reads the headers; malformed ones are dropped and reported at debug level.
    ///
    /// ```
    /// use ctxflow_http::{ExtractOptions, IncomingContext};
    /// let mut h = http::HeaderMap::new();
    /// h.insert("traceparent", "garbage".parse().unwrap());
    /// let incoming = IncomingContext::from_headers(&h, &ExtractOptions::default());
    /// assert!(incoming.trace.parent_id.is_none(), "a new trace instead of a rejected request");
    /// ```
    pub fn from_headers(headers: &HeaderMap, options: &ExtractOptions) -> IncomingContext {
        Self::read(headers, options).0
    }

    /// [`from_headers`](Self::from_headers), and whether the request id is the one that came
    /// in (the headers then hold it, alone, under its name).
    pub(crate) fn read(headers: &HeaderMap, options: &ExtractOptions) -> (IncomingContext, bool) {
        let fields = header_fields::FoundHeaders::find(headers, &options.request_id_header);
        let trace = match TraceParent::from_fields(&fields.traceparent) {
            Ok(Some(parent)) => TraceContext::continued(parent, tracestate(&fields.tracestate)),
            Ok(None) => TraceContext::new_root(options.sample_new_traces),
            Err(e) => {
                dropped(header::TRACEPARENT.as_str(), &e);
                TraceContext::new_root(options.sample_new_traces)
            }
        };
        let (baggage, errors) = Baggage::from_fields(&fields.baggage);
        if let Some(first) = errors.first() {
            // One event per request, however many members a hostile header holds.
            dropped(header::BAGGAGE.as_str(), &format_args!("{first} ({} member(s) dropped in all)", errors.len()));
        }
        let received = if options.accept_request_id { RequestId::from_fields(&fields.request_id) } else { Ok(None) };
        let request_id = received.unwrap_or_else(|e| {
            dropped(options.request_id_header.as_str(), &e);
            None
        });
        let received = request_id.is_some();
        let incoming = IncomingContext { trace, baggage, request_id: request_id.unwrap_or_else(RequestId::generate) };
        (incoming, received)
    }

    /// The bindings for the request's context: [`TRACE`], [`BAGGAGE`], [`REQUEST_ID`], and every
    /// declared export whose key came in the baggage.
    ///
    /// ```
    /// use ctxflow_http::{ExtractOptions, IncomingContext, REQUEST_ID};
    /// let incoming = IncomingContext::from_headers(&http::HeaderMap::new(), &ExtractOptions::default());
    /// let id = incoming.request_id.clone();
    /// assert_eq!(ctxflow::sync_scope(incoming.into_bindings(), || REQUEST_ID.get()), Some(id));
    /// ```
    pub fn into_bindings(self) -> Vec<Binding> {
        let mut bindings = bind_declared(&self.baggage);
        bindings.extend(Self::fixed_bindings(Arc::new(self)));
        bindings
    }

    /// The current context with these bindings, then `extra` (which win over them): one
    /// frame, and no list of bindings allocated when neither a declared export came in nor
    /// `extra` has any (the usual case).
    pub(crate) fn into_context(self, extra: Vec<Binding>) -> Snapshot {
        let base = Snapshot::capture();
        if self.baggage.is_empty() && base.is_empty() && extra.is_empty() {
            // No baggage came in (the usual request) and no context is around the server: no
            // baggage to hide, so BAGGAGE is left out (one binding fewer to build), and no
            // declared export can have come in.
            return base.with_bindings(Self::trace_and_id(&Arc::new(self)));
        }
        let mut bindings = bind_declared(&self.baggage);
        // Moved into its allocation here, once (passed on by value, it was copied once more).
        let fixed = Self::fixed_bindings(Arc::new(self));
        if bindings.is_empty() && extra.is_empty() {
            return base.with_bindings(fixed);
        }
        bindings.extend(fixed);
        bindings.extend(extra);
        base.with_bindings(bindings)
    }

    /// `TRACE` and `REQUEST_ID` bound to their fields of `shared`.
    fn trace_and_id(shared: &Arc<IncomingContext>) -> [Binding; 2] {
        ctxflow::fields!(shared, IncomingContext { trace => TRACE, request_id => REQUEST_ID })
    }

    fn fixed_bindings(shared: Arc<IncomingContext>) -> [Binding; 3] {
        // One allocation for the three values: each variable is bound to a field of the shared
        // `IncomingContext` (`ctxflow::fields!`) instead of getting an `Arc` of its own. No baggage:
        // unset (its default is the empty list), which still hides any baggage of the context
        // the request is served in.
        if shared.baggage.is_empty() {
            let [trace, request_id] = Self::trace_and_id(&shared);
            [trace, BAGGAGE.unset(), request_id]
        } else {
            ctxflow::fields!(shared, IncomingContext { trace => TRACE, baggage => BAGGAGE, request_id => REQUEST_ID })
        }
    }
}

fn tracestate(fields: &Fields<'_>) -> TraceState {
    TraceState::from_fields(fields).unwrap_or_else(|e| {
        dropped(header::TRACESTATE.as_str(), &e);
        TraceState::new()
    })
}
