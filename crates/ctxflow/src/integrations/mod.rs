//! The integrations layer, built on the context and resource layers: tasks spawned on tokio,
//! OS threads, rayon, and tokio's runtime hooks.

#[cfg(feature = "rayon")]
pub mod rayon;
#[cfg(feature = "runtime")]
pub mod runtime;
#[cfg(feature = "tokio")]
pub(crate) mod spawn;
#[cfg(feature = "tokio")]
pub(crate) mod task;
pub mod thread;
