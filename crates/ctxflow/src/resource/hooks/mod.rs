//! Lifecycle hooks: Node's `async_hooks`, for tasks, blocking jobs, threads and
//! [`AsyncResource`](crate::AsyncResource)s.
//!
//! Every tracked resource gets an [`AsyncId`] and these events, in this order:
//! `init` once when it is created (on the creating thread, with the creator's execution id as
//! trigger), then `before`/`after` around each poll or callback run (never nested or
//! interleaved for one resource), `resolve` during the poll in which a task's future
//! completes, and `destroy` exactly once when it is gone (completed, cancelled, aborted or
//! dropped; a resource that never ran gets `init` and `destroy` only).
//!
//! Rules (docs/hooks.md has the reasoning and the Node mapping):
//! - Registering, enabling and disabling take effect on a thread after the outermost event
//!   dispatch in progress there, never in the middle of one (Node's rule for `enable` and
//!   `disable` inside a callback). Other threads see the change at their next event.
//! - A hook is never called re-entrantly: events raised while one of its callbacks runs on the
//!   same thread (a hook that spawns, say) go to the other hooks only. So a hook that creates
//!   resources terminates. It may later see `before`/`after`/`destroy` of such a resource
//!   without its `init`, as a hook registered mid-run does: hooks ignore ids they do not know.
//! - A hook that panics is skipped on every thread from the moment it panics, then disabled and
//!   reported on stderr; the event's other hooks still run, the context and ids are left as
//!   they were, and the program goes on. (Node exits the process instead.)
//!   [`HookHandle::enable`] turns it back on. To flag the hook before the panic is reported,
//!   registering the first hook puts a panic hook in front of the process's own (which still
//!   runs); an application that replaces the panic hook later loses only that head start.
//! - Hooks run on whichever thread the event happens on, possibly on many threads at once;
//!   the events of one resource never overlap, except an `AsyncResource` that the user runs on
//!   several threads at once.
//! - With no hook enabled, an event costs one relaxed atomic load.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use ctxflow::hooks::{self, Hook, Init};
//!
//! struct CountInits(AtomicUsize);
//! impl Hook for CountInits {
//!     fn init(&self, resource: &Init<'_>) {
//!         if resource.kind() == "doc-example" { self.0.fetch_add(1, Ordering::Relaxed); }
//!     }
//! }
//!
//! let hook = std::sync::Arc::new(CountInits(AtomicUsize::new(0)));
//! let handle = hooks::register(hook.clone());
//! let res = ctxflow::AsyncResource::new("doc-example");
//! assert_eq!(hook.0.load(Ordering::Relaxed), 1);
//! handle.unregister();
//! drop(res);
//! ```

mod dispatch;
mod init;

#[cfg(feature = "tokio")]
pub(crate) use dispatch::resolve;
pub use dispatch::{HookHandle, register};
pub(crate) use dispatch::{after, before, destroy, enabled, init};
pub use init::Init;

use crate::resource::ids::AsyncId;

/// Callbacks for the life of async resources. Every method has an empty default.
///
/// Callbacks run synchronously on the thread where the event happens, inside the resource's
/// context for `before`/`after`/`resolve`, so they must be quick and must not block.
pub trait Hook: Send + Sync + 'static {
    /// A resource was created: its id, kind and trigger (the execution id of its creator),
    /// where, and with what context (see [`Init`]).
    fn init(&self, resource: &Init<'_>) {
        let _ = resource;
    }
    /// The resource's code is about to run (a poll, a callback, a thread body).
    fn before(&self, id: AsyncId) {
        let _ = id;
    }
    /// The resource's code has stopped running (also after a panic in it).
    fn after(&self, id: AsyncId) {
        let _ = id;
    }
    /// A task's future completed (called during its last poll, before `after`).
    fn resolve(&self, id: AsyncId) {
        let _ = id;
    }
    /// The resource is gone; called exactly once.
    fn destroy(&self, id: AsyncId) {
        let _ = id;
    }
}

impl<H: Hook> Hook for std::sync::Arc<H> {
    fn init(&self, resource: &Init<'_>) {
        (**self).init(resource)
    }
    fn before(&self, id: AsyncId) {
        (**self).before(id)
    }
    fn after(&self, id: AsyncId) {
        (**self).after(id)
    }
    fn resolve(&self, id: AsyncId) {
        (**self).resolve(id)
    }
    fn destroy(&self, id: AsyncId) {
        (**self).destroy(id)
    }
}
