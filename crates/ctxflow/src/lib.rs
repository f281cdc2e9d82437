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
//! async fn handle() -> Option<u64> {
//!     tokio::task::yield_now().await;
//!     // Deep inside the request, without passing anything down:
//!     ctxflow::spawn(async { REQUEST_ID.get() }).await.unwrap()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! assert_eq!(REQUEST_ID.scope(7, handle()).await, Some(7));
//! # }
//! ```
//!
//! How it works, and every rule of what is seen where: `docs/semantics.md` in the repository.
//! Why it is cheap: a context is an immutable frame behind one counted pointer (whose
//! allocation the thread reuses); a poll swaps the pointer in and out of a thread-local; a
//! read borrows from it without touching a counter.

#![warn(missing_docs)]

mod bindings;
mod current;
mod error;
mod fields;
mod frame;
mod frame_ref;
mod ids;
mod resource;
mod scope;
mod snapshot;
mod stats;
mod sync;
#[cfg(feature = "tokio")]
mod task;
mod value;
mod var;

#[cfg(feature = "diagnostics")]
pub mod diagnostics;
pub mod hooks;
#[cfg(feature = "rayon")]
pub mod rayon;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod thread;

#[cfg(feature = "tokio")]
mod spawn;

pub use bindings::{Binding, IntoBindings, scope, sync_scope};
pub use error::{ResourceError, SetError};
#[doc(hidden)]
pub use fields::__field_binding;
pub use ids::{AsyncId, execution_id, trigger_id};
pub use resource::AsyncResource;
pub use scope::Scoped;
pub use snapshot::{FutureExt, Snapshot};
#[cfg(feature = "tokio")]
pub use spawn::{JoinSetExt, spawn, spawn_blocking, spawn_local};
#[cfg(feature = "diagnostics")]
pub use stats::{Stats, stats};
pub use var::ContextVar;
