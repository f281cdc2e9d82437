//! Request context that flows through async Rust: the counterpart of Node's
//! `AsyncLocalStorage` and `async_hooks`, for tokio, OS threads and rayon.
//!
//! A value set with [`ContextVar::scope`] is visible through [`ContextVar::get`] everywhere
//! the scoped future runs: across every `.await`, into tasks spawned with [`spawn`] (captured
//! at the spawn call), into [`spawn_blocking`], into threads through [`thread::spawn`], and
//! nowhere else. Concurrent requests never see each other's values.
//!
//! ```
//! use ctxflow::ContextVar;
//!
//! static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
//!
//! # #[cfg(feature = "tokio")]
//! async fn handle() -> Option<u64> {
//!     tokio::task::yield_now().await;
//!     // Deep inside the request, without passing anything down:
//!     ctxflow::spawn(async { REQUEST_ID.get() }).await.unwrap()
//! }
//!
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! assert_eq!(REQUEST_ID.scope(7, handle()).await, Some(7));
//! # }
//! # #[cfg(not(feature = "tokio"))] fn main() {}
//! ```
//!
//! How it works, and every rule of what is seen where: `docs/semantics.md` in the repository.
//! How it works: a context is an immutable frame behind one `Arc`; a poll moves that `Arc` in
//! and out of a thread-local; a read looks the variable up in the current frame. No `unsafe`
//! code (`#![forbid(unsafe_code)]`).
//!
//! # Features
//!
//! | feature | what |
//! |---|---|
//! | `tokio` (default) | [`spawn`], [`spawn_blocking`], [`spawn_local`], [`JoinSetExt`], and a `set` that knows when it runs inside a tokio runtime |
//! | `runtime` | [`runtime`]: automatic propagation into plain `tokio::spawn` through tokio's task hooks; needs `--cfg tokio_unstable` |
//! | `rayon` | [`rayon`]: spawn, join, scope and parallel iterators that see the caller's context |
//! | `stream` | [`StreamContextExt`]: streams polled inside the context they were made in, wherever they are polled |
//! | `macros` | [`main`] and [`test`]: `#[tokio::main]` and `#[tokio::test]` on a runtime that propagates context (implies `runtime`) |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

// The layers, each built only on those before it: `sync` and `contain` (primitives),
// `context`, `resource`, then the integrations. Diagnostics are a crate of their own
// (`ctxflow-diagnostics`), built on the hooks.
mod contain;
mod sync;

mod context;
mod resource;

mod integrations;

pub use context::bindings::{Binding, IntoBindings, scope, sync_scope};
pub use context::error::SetError;
pub use context::scope::Scoped;
#[cfg(feature = "stream")]
pub use context::snapshot::StreamContextExt;
pub use context::snapshot::{EnteredSnapshot, FutureContextExt, Snapshot};
#[doc(hidden)]
pub use context::struct_fields::__field_binding;
pub use context::var::ContextVar;
/// ```
/// static REQUEST: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("request");
///
/// #[ctxflow::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() {
///     let seen = REQUEST.scope(7, async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }).await;
///     assert_eq!(seen, Some(7), "plain tokio::spawn inherits");
/// }
/// ```
///
/// The function must be `async`:
///
/// ```compile_fail
/// #[ctxflow::main]
/// fn main() {}
/// ```
#[cfg(feature = "macros")]
pub use ctxflow_macros::main;
/// ```
/// static REQUEST: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("request");
///
/// #[ctxflow::test]
/// async fn plain_spawn_inherits() {
///     let seen = REQUEST.scope(7, async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }).await;
///     assert_eq!(seen, Some(7));
/// }
/// # fn main() {}
/// ```
#[cfg(feature = "macros")]
pub use ctxflow_macros::test;
#[cfg(feature = "rayon")]
pub use integrations::rayon;
#[cfg(feature = "runtime")]
pub use integrations::runtime;
#[cfg(feature = "tokio")]
pub use integrations::spawn::{JoinSetExt, spawn, spawn_blocking, spawn_local};
pub use integrations::thread;
/// What `#[ctxflow::main]` and `#[ctxflow::test]` expand to names. Not public API.
#[cfg(feature = "macros")]
#[doc(hidden)]
pub mod __macros {
    pub use tokio;
}
pub use resource::async_resource::AsyncResource;
pub use resource::hooks;
pub use resource::ids::{AsyncId, execution_id, trigger_id};

/// The README's examples, compiled and run as doctests (they spawn tokio tasks).
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
