//! The resource layer, built on the context layer: async ids, tracked resources and their
//! lifecycle hooks (with what they tell about a new resource, the inspection API that
//! `ctxflow-diagnostics` is built on) and `AsyncResource`.

pub(crate) mod async_resource;
pub mod hooks;
pub(crate) mod ids;
pub(crate) mod job;
pub(crate) mod tracked;
