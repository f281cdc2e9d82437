//! The resource layer, built on the context layer: async ids, tracked resources and their
//! lifecycle hooks, `AsyncResource`, and the counters behind `ctxflow::stats()`.

pub(crate) mod async_resource;
pub mod hooks;
pub(crate) mod ids;
pub(crate) mod stats;
pub(crate) mod tracked;
