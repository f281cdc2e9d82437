//! Where malformed input is reported: a `tracing` event at debug level, or nothing when the
//! `tracing` feature is off.
//!
//! Dropping a bad header is the spec's answer and the request goes on, so this is debug
//! information for whoever runs the service, never an error returned to the caller. Each
//! event carries the header name and the typed error's message.

use std::fmt::Display;

/// Reports that (part of) `header` was dropped because of `error`.
pub(crate) fn dropped(header: &str, error: &dyn Display) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "ctxflow_http", header, %error, "dropped malformed header");
    #[cfg(not(feature = "tracing"))]
    let _ = (header, error);
}
