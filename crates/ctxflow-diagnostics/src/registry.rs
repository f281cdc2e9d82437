//! The live resource registry: every tracked resource alive now, where it was made, and which
//! context variables it carries, for finding leaks.
//!
//! Off until [`enable`] is called, which registers the registry's hook with ctxflow: from then
//! on every event goes to it (a map insert per resource created, and a count per event). It
//! is sharded: a resource is filed under its id's block, and ids come in per-thread blocks, so
//! threads spawning at once mostly lock different shards.
//!
//! Only resources created while the registry is on are listed. It keeps variable *names*, not
//! the context itself, so it never extends the life of a value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ctxflow::AsyncId;
use ctxflow::hooks::{self, Hook, HookHandle, Init};

use crate::counter::{Counter, SHARDS};

/// The registry's hook, while it is enabled.
static HOOK: Mutex<Option<HookHandle>> = Mutex::new(None);

type Map = Option<HashMap<AsyncId, Live>>;
static LIVE: [Mutex<Map>; SHARDS] = [const { Mutex::new(None) }; SHARDS];

/// Events the registry's hook received since it was enabled.
pub(crate) static EVENTS: Counter = Counter::new();

/// Ids are handed out in blocks of this many per thread (ctxflow's `AsyncId`s); filing by
/// block keeps one thread's resources in one shard. Only a performance matter: any value is
/// correct.
const ID_BLOCK: u64 = 1024;

struct Live {
    kind: Cow<'static, str>,
    trigger: AsyncId,
    location: &'static Location<'static>,
    created: Instant,
    variables: Vec<String>,
}

fn shard(id: AsyncId) -> MutexGuard<'static, Map> {
    lock(&LIVE[(id.as_u64() / ID_BLOCK) as usize % SHARDS])
}

/// What the registry knows of one live resource.
///
/// ```
/// use ctxflow_diagnostics::registry;
/// static TENANT: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("tenant");
///
/// registry::enable();
/// let job = TENANT.sync_scope(7, || ctxflow::AsyncResource::new("job"));
/// let info = registry::live().into_iter().find(|r| r.id == job.id()).unwrap();
/// assert_eq!(info.kind, "job");
/// assert_eq!(info.variables, ["tenant"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceInfo {
    /// The resource's id.
    pub id: AsyncId,
    /// Its kind ("task", "local", "blocking", "thread", or an `AsyncResource` name).
    pub kind: String,
    /// The execution id that created it.
    pub trigger: AsyncId,
    /// Where it was spawned or created.
    pub location: &'static Location<'static>,
    /// When it was created.
    pub created: Instant,
    /// The names of the context variables it was created with (names, never values; a
    /// variable with an empty name shows as `#<key>`).
    pub variables: Vec<String>,
}

impl ResourceInfo {
    /// How long it has been alive.
    ///
    /// ```
    /// use ctxflow_diagnostics::registry;
    /// registry::enable();
    /// let res = ctxflow::AsyncResource::new("aged");
    /// let info = registry::live().into_iter().find(|r| r.id == res.id()).unwrap();
    /// assert!(info.age() < std::time::Duration::from_secs(3600));
    /// ```
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }
}

/// Starts recording resources as they are created: registers the registry's hook with
/// ctxflow. Resources created earlier are not listed.
///
/// ```
/// use ctxflow_diagnostics::registry;
/// registry::enable();
/// assert!(registry::is_enabled());
/// ```
pub fn enable() {
    let mut hook = lock(&HOOK);
    if hook.is_none() {
        *hook = Some(hooks::register(Recorder));
    }
}

/// Stops recording (unregisters the hook) and forgets every entry.
///
/// ```
/// use ctxflow_diagnostics::registry;
/// # // Other doc tests run in other processes, so this one may switch it off.
/// registry::disable();
/// assert!(registry::live().is_empty());
/// ```
pub fn disable() {
    let hook = lock(&HOOK).take();
    drop(hook);
    for s in &LIVE {
        let forgotten = lock(s).take();
        drop(forgotten);
    }
}

/// Whether resources are being recorded.
///
/// ```
/// let _ = ctxflow_diagnostics::registry::is_enabled();
/// ```
pub fn is_enabled() -> bool {
    lock(&HOOK).is_some()
}

/// A critical section is one insert, remove, clone, take or clear: a poisoned lock holds
/// consistent data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The registry's hook.
struct Recorder;

impl Hook for Recorder {
    fn init(&self, resource: &Init<'_>) {
        EVENTS.add(1);
        let live = Live {
            kind: crate::intern_kind(resource.kind()),
            trigger: resource.trigger(),
            location: resource.location(),
            created: Instant::now(),
            variables: resource.variable_names(),
        };
        shard(resource.id()).get_or_insert_with(HashMap::new).insert(resource.id(), live);
    }
    fn before(&self, _id: AsyncId) {
        EVENTS.add(1);
    }
    fn after(&self, _id: AsyncId) {
        EVENTS.add(1);
    }
    fn resolve(&self, _id: AsyncId) {
        EVENTS.add(1);
    }
    fn destroy(&self, id: AsyncId) {
        EVENTS.add(1);
        let gone = shard(id).as_mut().and_then(|m| m.remove(&id));
        drop(gone);
    }
}

/// How many resources are recorded now.
pub(crate) fn count() -> usize {
    LIVE.iter().map(|s| lock(s).as_ref().map_or(0, HashMap::len)).sum()
}

/// Every live resource recorded since [`enable`], oldest first.
///
/// ```
/// use ctxflow_diagnostics::registry;
/// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
/// registry::enable();
/// let res = USER.sync_scope("ada", || ctxflow::AsyncResource::new("session"));
/// let info = registry::live().into_iter().find(|r| r.id == res.id()).unwrap();
/// assert_eq!((info.kind.as_str(), info.variables.clone()), ("session", vec!["user".to_string()]));
/// drop(res);
/// assert!(registry::live().iter().all(|r| r.kind != "session"));
/// ```
pub fn live() -> Vec<ResourceInfo> {
    let mut all: Vec<ResourceInfo> = Vec::new();
    for s in &LIVE {
        let map = lock(s);
        all.extend(map.iter().flatten().map(|(id, l)| ResourceInfo {
            id: *id,
            kind: l.kind.clone().into_owned(),
            trigger: l.trigger,
            location: l.location,
            created: l.created,
            variables: l.variables.clone(),
        }));
    }
    all.sort_by_key(|r| (r.created, r.id));
    all
}
