//! `AsyncResource`: Node's handle for running callback code in the context it was made in.

use std::borrow::Cow;
use std::panic::Location;

use super::ids::{self, AsyncId, IdsEntered};
use super::tracked::{Announced, Resource};
use crate::context::bound::{Bound, Inside};
use crate::context::current;
use crate::context::owner::Owner;
use crate::context::scope;
use crate::context::snapshot::Snapshot;

/// A handle for running callback-style, channel, thread-pool or FFI code in the context in
/// which the handle was made. Node: `AsyncResource`.
///
/// It captures the whole current context and gets its own [`AsyncId`] at creation (later
/// changes in the creator are not seen). [`sync_run`](Self::sync_run) runs code inside
/// that context with `before`/`after` hook events; dropping it (or
/// [`emit_destroy`](Self::emit_destroy)) emits `destroy` exactly once.
///
/// The captured context is immutable: a `set` made inside one `sync_run` is gone in the
/// next (Node's AsyncContextFrame and TC39 semantics). The handle is `Send + Sync`; runs on
/// several threads at once give overlapping `before`/`after` pairs for one id, one per
/// thread, and a run nested inside a run of the same resource nests its pair.
///
/// ```
/// use ctxflow::{AsyncResource, ContextVar};
/// static REQUEST: ContextVar<u32> = ContextVar::new("request");
///
/// let res = REQUEST.sync_scope(7, || AsyncResource::new("db-callback"));
/// // Later, from a callback that runs anywhere:
/// assert_eq!(res.sync_run(|| REQUEST.get()), Some(7));
/// assert_eq!(res.sync_run(ctxflow::execution_id), res.id());
/// ```
pub struct AsyncResource {
    res: Resource,
    id: AsyncId,
    kind: Cow<'static, str>,
}

impl AsyncResource {
    /// Captures the current context; `kind` names the resource in hooks and diagnostics (an
    /// empty kind is passed on as it is). Its trigger is the current execution id.
    ///
    /// ```
    /// use ctxflow::AsyncResource;
    /// let res = AsyncResource::new("queue-job");
    /// assert_eq!(res.trigger_id(), ctxflow::execution_id());
    /// assert_eq!(res.kind(), "queue-job");
    /// ```
    #[track_caller]
    pub fn new(kind: impl Into<Cow<'static, str>>) -> AsyncResource {
        AsyncResource::with_trigger(kind, ids::current().0)
    }

    /// Like [`new`](Self::new), with an explicit trigger id instead of the current execution
    /// id: for a pool that creates resources on behalf of the code that queued the work.
    ///
    /// ```
    /// use ctxflow::{AsyncId, AsyncResource};
    /// let parent = AsyncResource::new("connection");
    /// let query = AsyncResource::with_trigger("query", parent.id());
    /// assert_eq!(query.trigger_id(), parent.id());
    /// assert_eq!(query.sync_run(ctxflow::trigger_id), parent.id());
    /// ```
    #[track_caller]
    pub fn with_trigger(kind: impl Into<Cow<'static, str>>, trigger: AsyncId) -> AsyncResource {
        let kind = kind.into();
        let res = Resource::new(&kind, current::capture(), trigger, Location::caller());
        AsyncResource { id: res.id, res, kind }
    }

    /// This resource's id. Node: `asyncResource.asyncId()`.
    ///
    /// ```
    /// let a = ctxflow::AsyncResource::new("a");
    /// let b = ctxflow::AsyncResource::new("b");
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> AsyncId {
        self.id
    }

    /// The execution id that created it (or the one given to `with_trigger`). Node:
    /// `asyncResource.triggerAsyncId()`.
    ///
    /// ```
    /// let res = ctxflow::AsyncResource::new("top");
    /// assert_eq!(res.trigger_id(), ctxflow::AsyncId::ROOT);
    /// ```
    pub fn trigger_id(&self) -> AsyncId {
        self.res.trigger
    }

    /// The kind given at creation.
    ///
    /// ```
    /// assert_eq!(ctxflow::AsyncResource::new("smtp").kind(), "smtp");
    /// ```
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Runs `f` inside the captured context, with this resource as execution id (and its
    /// trigger as trigger id), between `before` and `after` events. Writes made by `f` (`set`)
    /// stay inside this call. The caller's context and ids are back afterwards, also when `f`
    /// panics (`after` fires then too). Node: `asyncResource.runInAsyncScope(fn)`.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let res = N.sync_scope(1, || ctxflow::AsyncResource::new("cb"));
    /// res.sync_run(|| N.set(2).unwrap());
    /// assert_eq!(res.sync_run(|| N.get()), Some(1), "the write did not persist");
    /// assert_eq!(ctxflow::execution_id(), ctxflow::AsyncId::ROOT);
    /// ```
    pub fn sync_run<R>(&self, f: impl FnOnce() -> R) -> R {
        // After `emit_destroy` the code still runs with this resource's context and ids, but
        // without `before`/`after`: `destroy` stays the last event.
        self.run_inside(self.res.id != AsyncId::NONE, f)
    }

    /// Runs `f` inside the captured context and ids; between `before` and `after` if
    /// `announce`.
    fn run_inside<R>(&self, announce: bool, f: impl FnOnce() -> R) -> R {
        scope::sync_run_in(self.res.ctx.clone(), || {
            let _ids = IdsEntered::new((self.id, self.res.trigger), Owner::running());
            let _announced = Announced::new(self.id, announce);
            f()
        })
    }

    /// `f`, bound to this resource: each call runs it through [`sync_run`](Self::sync_run).
    /// When the returned closure is dropped, what `f` captured is dropped inside the resource's
    /// context and ids (without `before`/`after`: it is not a call), then the resource is
    /// destroyed. Node:
    /// `asyncResource.bind(fn)`.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let double = N.sync_scope(21, || ctxflow::AsyncResource::new("cb"))
    ///     .wrap_fn(|x: u32| x * N.get().unwrap_or(0));
    /// assert_eq!(double(2), 42);
    /// ```
    pub fn wrap_fn<A, R>(self, f: impl Fn(A) -> R) -> impl Fn(A) -> R {
        let bound = Bound::new(self, f);
        move |a| bound.call(a)
    }

    /// Emits `destroy` now instead of at drop. Calling it again (or dropping later) does
    /// nothing: `destroy` fires exactly once (Node v20 fires it once per call; this is a
    /// deliberate difference). Node: `asyncResource.emitDestroy()`.
    ///
    /// ```
    /// let mut res = ctxflow::AsyncResource::new("socket");
    /// res.emit_destroy();
    /// res.emit_destroy(); // no second `destroy`
    /// ```
    pub fn emit_destroy(&mut self) {
        self.res.retire();
    }

    /// The captured context.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let res = N.sync_scope(5, || ctxflow::AsyncResource::new("cb"));
    /// assert_eq!(res.snapshot().get(&N), Some(5));
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from_ctx(self.res.ctx.clone())
    }
}

impl std::fmt::Debug for AsyncResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResource")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("trigger", &self.res.trigger)
            .finish()
    }
}

impl Inside for AsyncResource {
    fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        self.sync_run(f)
    }

    fn drop_inside(&self, f: impl FnOnce()) {
        self.run_inside(false, f);
    }
}
