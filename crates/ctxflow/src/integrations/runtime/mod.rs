//! Automatic propagation into plain `tokio::spawn`, through tokio's runtime task hooks.
//!
//! Wrappers ([`crate::spawn`]) only reach code the user changes; a database driver or an HTTP
//! framework calls `tokio::spawn` itself and the context is lost there. tokio's (unstable)
//! task hooks run synchronously inside every spawn, on the spawning thread, and around every
//! poll, so a runtime built with [`BuilderExt::propagate_context`] can give each task the
//! context of the code that spawned it, with no change to that code.
//!
//! The hooks carry no per-task data, only a task id, so the opted-in runtimes keep a side
//! table from task id to the task's context and ids. Why the table is sharded, why a `set`
//! goes straight to it, and what is not covered: see `docs/automatic-propagation.md`.
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

#[cfg(not(tokio_unstable))]
compile_error!(
    "ctxflow's `runtime` feature needs tokio's unstable task hooks: build with `--cfg tokio_unstable`, \
     for example in `.cargo/config.toml`: [build] rustflags = [\"--cfg\", \"tokio_unstable\"] \
     (see docs/automatic-propagation.md)"
);

// tokio has no task hooks in a `--cfg loom` build: only the flag that `ctxflow::spawn` raises
// is built then.
#[cfg(all(tokio_unstable, not(loom)))]
mod builder;
#[cfg(all(tokio_unstable, not(loom)))]
mod packed;
#[cfg(tokio_unstable)]
mod self_tracked;
#[cfg(all(tokio_unstable, not(loom)))]
mod shards;
#[cfg(all(tokio_unstable, not(loom)))]
mod site_filter;
#[cfg(all(tokio_unstable, not(loom)))]
mod slot_count;
#[cfg(all(tokio_unstable, not(loom)))]
mod slots;
#[cfg(all(tokio_unstable, not(loom)))]
mod spawn_sites;
#[cfg(all(tokio_unstable, not(loom)))]
mod table;
#[cfg(all(tokio_unstable, not(loom)))]
mod task_hash;

#[cfg(all(tokio_unstable, not(loom)))]
pub use builder::BuilderExt;
#[cfg(tokio_unstable)]
pub(crate) use self_tracked::SelfTracked;
#[cfg(all(tokio_unstable, not(loom)))]
pub use spawn_sites::SpawnSites;
#[cfg(all(tokio_unstable, not(loom)))]
pub use table::tracked_tasks;
