//! Diagnostics built on the lifecycle events, for the questions Node users answer by hand with
//! `async_hooks`: what is alive and who made it ([`registry`], [`dump`]), what never went away
//! ([`leaks`]), what ctxflow costs right now ([`stats`](crate::stats)), and what ran when
//! ([`TraceRecorder`], and with the `timeline` feature an SVG drawing of a trace).
//!
//! Everything here is behind the `diagnostics` feature; the registry is off until
//! [`registry::enable`], and the recorder is an ordinary [`Hook`](crate::hooks::Hook) that
//! costs nothing until registered. See docs/hooks.md for a walk-through.

mod json;
pub mod registry;
mod report;
#[cfg(feature = "timeline")]
pub mod timeline;
pub mod trace;

use std::borrow::Cow;

pub use registry::ResourceInfo;
pub use report::{Dump, LeakReport, dump, leaks};
pub use trace::TraceRecorder;

/// The kind as an owned name; ctxflow's own kinds cost no allocation.
pub(crate) fn intern_kind(kind: &str) -> Cow<'static, str> {
    match kind {
        "task" => Cow::Borrowed("task"),
        "local" => Cow::Borrowed("local"),
        "blocking" => Cow::Borrowed("blocking"),
        "thread" => Cow::Borrowed("thread"),
        "rayon" => Cow::Borrowed("rayon"),
        other => Cow::Owned(other.to_owned()),
    }
}
