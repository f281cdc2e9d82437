//! The header names this crate reads and writes, lowercase as the specs ask senders to use.
//!
//! HTTP header names are case-insensitive and `http::HeaderMap` stores them lowercased, so a
//! request sent with `TraceParent` or `TRACEPARENT` is found under these names; `trace-parent`
//! is a different header and is ignored.

use http::HeaderName;

/// `traceparent` (W3C Trace Context).
///
/// ```
/// assert_eq!(ctxflow_http::header::TRACEPARENT.as_str(), "traceparent");
/// ```
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// `tracestate` (W3C Trace Context).
///
/// ```
/// assert_eq!(ctxflow_http::header::TRACESTATE, "tracestate");
/// ```
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
/// `baggage` (W3C Baggage).
///
/// ```
/// assert_eq!(ctxflow_http::header::BAGGAGE, "baggage");
/// ```
pub const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
/// `x-request-id`: the request id, kept by the server layer when valid and forwarded by the
/// client layer.
///
/// ```
/// assert_eq!(ctxflow_http::header::REQUEST_ID, "x-request-id");
/// ```
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
