//! Diagnostics for ctxflow, for the questions Node users answer by hand with `async_hooks`:
//! what is alive and who made it ([`registry`], [`dump`]), what never went away ([`leaks`]),
//! how many resources and events there are ([`stats`]), and what ran when ([`TraceRecorder`],
//! and with the `timeline` feature an SVG drawing of a trace).
//!
//! Built only on ctxflow's public hooks ([`ctxflow::hooks`]: each event, and for a new resource
//! its location and its context's variable names), so ctxflow itself has no diagnostics code
//! path: nothing here costs anything until [`registry::enable`] or registering a
//! [`TraceRecorder`]. (The model is tokio-console's split from tokio.) See docs/hooks.md in the
//! repository for a walk-through.
//!
//! # Features
//!
//! | feature | what |
//! |---|---|
//! | `timeline` | `timeline::svg_from_json`: a recorded trace drawn as an SVG timeline |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod counter;
mod json;
pub mod registry;
mod report;
mod stats;
#[cfg(feature = "timeline")]
pub mod timeline;
pub mod trace;

use std::borrow::Cow;

pub use registry::ResourceInfo;
pub use report::{Dump, LeakReport, dump, leaks};
pub use stats::{Stats, stats};
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

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
