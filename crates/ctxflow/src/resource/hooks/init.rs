//! `Init`: what a hook learns about a resource when it is created.

use std::panic::Location;

use crate::context::frame::Ctx;
use crate::context::snapshot::Snapshot;
use crate::resource::ids::AsyncId;

/// A resource being created, as [`Hook::init`](super::Hook::init) sees it: Node's `init`
/// arguments (id, type, trigger id), plus where it was created and the context it captured.
///
/// ```
/// use std::sync::Mutex;
/// use ctxflow::hooks::{self, Hook, Init};
/// use ctxflow::AsyncId;
///
/// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
/// /// What `init` saw: id, kind, trigger, line, variable names, and USER in the snapshot.
/// type Row = (AsyncId, String, AsyncId, u32, Vec<String>, Option<&'static str>);
/// #[derive(Default)]
/// struct Seen(Mutex<Vec<Row>>);
/// impl Hook for Seen {
///     fn init(&self, r: &Init<'_>) {
///         if r.kind() == "init-doc" {
///             let row = (r.id(), r.kind().to_owned(), r.trigger(), r.location().line(), r.variable_names(), r.snapshot().get(&USER));
///             self.0.lock().unwrap().push(row);
///         }
///     }
/// }
///
/// let seen = std::sync::Arc::new(Seen::default());
/// let handle = hooks::register(seen.clone());
/// let line = line!() + 1;
/// let res = USER.sync_scope("ada", || ctxflow::AsyncResource::new("init-doc"));
/// drop(handle);
/// let rows = seen.0.lock().unwrap();
/// let expected = (res.id(), "init-doc".to_owned(), ctxflow::execution_id(), line, vec!["user".to_owned()], Some("ada"));
/// assert_eq!(*rows, [expected]);
/// ```
#[derive(Clone, Copy)]
pub struct Init<'a> {
    pub(crate) id: AsyncId,
    pub(crate) kind: &'a str,
    pub(crate) trigger: AsyncId,
    pub(crate) location: &'static Location<'static>,
    pub(crate) ctx: &'a Ctx,
}

impl<'a> Init<'a> {
    /// The new resource's id. Node: `asyncId`. (Each method is used in the example on
    /// [`Init`].)
    pub fn id(&self) -> AsyncId {
        self.id
    }

    /// "task", "local", "blocking", "thread", "rayon", or the kind given to an
    /// [`AsyncResource`](crate::AsyncResource). Node: `type`.
    pub fn kind(&self) -> &'a str {
        self.kind
    }

    /// The execution id of the code that created it. Node: `triggerAsyncId`.
    pub fn trigger(&self) -> AsyncId {
        self.trigger
    }

    /// Where it was spawned or created (the caller of `ctxflow::spawn`, `AsyncResource::new`,
    /// ...; for a plain `tokio::spawn` on an opted-in runtime, tokio's spawn location).
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The context it will run in. Keeping the snapshot keeps the context's values alive.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from_ctx(self.ctx.clone())
    }

    /// The names of the variables set in that context (names, never values), as
    /// [`Snapshot::names`] gives them.
    pub fn variable_names(&self) -> Vec<String> {
        self.snapshot().names()
    }
}

impl std::fmt::Debug for Init<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Init")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("trigger", &self.trigger)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}
