//! The wire formats: the W3C `traceparent`, `tracestate` and `baggage` headers and the request
//! id, parsed from header text into typed values and written back. Nothing here reads or writes
//! a context: these are the pure, bounded parsers that every layer above relies on.
//!
//! Inside, lowest first: `ids`, `list` (the list syntax the three headers share) and
//! `header_fields` (a request's fields of those headers) use nothing here; `member` (one baggage
//! member) builds on `list`; the headers `baggage`, `traceparent`, `tracestate` and
//! `request_id` on those; `trace_context` pairs a `traceparent` with its `tracestate`.

pub(crate) mod baggage;
pub(crate) mod header_fields;
pub(crate) mod ids;
pub(crate) mod list;
pub(crate) mod member;
pub(crate) mod request_id;
pub(crate) mod trace_context;
pub(crate) mod traceparent;
pub(crate) mod tracestate;
