//! Diagnostics built on the lifecycle events: a live resource registry (tree dump and leak
//! report), counters ([`crate::stats`]), and a Chrome trace-event recorder.

pub mod registry;
