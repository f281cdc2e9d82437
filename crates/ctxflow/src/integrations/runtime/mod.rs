//! Automatic propagation into plain `tokio::spawn`, through tokio's runtime task hooks.
//!
//! Wrappers ([`crate::spawn`]) only reach code the user changes; a database driver or an HTTP
//! framework calls `tokio::spawn` itself and the context is lost there. tokio's (unstable)
//! task hooks run synchronously inside every spawn, on the spawning thread, and around every
//! poll, so a runtime built with [`BuilderExt::propagate_context`] can give each task the
//! context of the code that spawned it, with no change to that code.
//!
//! The hooks carry no per-task data, only a task id, so each opted-in runtime keeps a side
//! table from task id to the task's context and ids. Why the table is sharded, why a poll waits
//! for the previous poll of the same task to be released, and what is not covered: see
//! `docs/automatic-propagation.md`.
//!
//! ```
//! use ctxflow::runtime::BuilderExt;
//! static REQUEST: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("request");
//!
//! let rt = tokio::runtime::Builder::new_multi_thread()
//!     .worker_threads(2)
//!     .propagate_context()
//!     .build()
//!     .unwrap();
//! let seen = rt.block_on(REQUEST.scope(7, async {
//!     // Third-party code that knows nothing of ctxflow:
//!     tokio::spawn(async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }).await.unwrap()
//! }));
//! assert_eq!(seen, Some(7));
//! ```

// A loom build compiles only the poll token (see below); the rest is unused there.
#![cfg_attr(loom, allow(dead_code))]

#[cfg(not(tokio_unstable))]
compile_error!(
    "ctxflow's `runtime` feature needs tokio's unstable task hooks: build with `--cfg tokio_unstable`, \
     for example in `.cargo/config.toml`: [build] rustflags = [\"--cfg\", \"tokio_unstable\"] \
     (see docs/automatic-propagation.md)"
);

// tokio has no task hooks in a `--cfg loom` build: only the poll token is built then, for
// `tests/loom_poll_token.rs`.
#[cfg(all(tokio_unstable, not(loom)))]
mod builder;
// The one module with `unsafe`: the token that hands a task's entry to the polling thread.
#[cfg(tokio_unstable)]
#[allow(unsafe_code)]
mod poll_token;
#[cfg(tokio_unstable)]
mod self_tracked;
#[cfg(tokio_unstable)]
mod shards;
#[cfg(all(tokio_unstable, not(loom)))]
mod spawn_sites;
#[cfg(all(tokio_unstable, not(loom)))]
mod table;
#[cfg(tokio_unstable)]
mod task_hash;

#[cfg(all(tokio_unstable, not(loom)))]
pub use builder::BuilderExt;
#[cfg(all(tokio_unstable, loom))]
#[doc(hidden)]
pub use poll_token::model as poll_token_model;
#[cfg(tokio_unstable)]
pub use poll_token::waited_polls;
#[cfg(tokio_unstable)]
pub(crate) use self_tracked::SelfTracked;
#[cfg(all(tokio_unstable, not(loom)))]
pub use spawn_sites::SpawnSites;
#[cfg(all(tokio_unstable, not(loom)))]
pub use table::tracked_tasks;
