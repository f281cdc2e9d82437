//! The live resource registry: every tracked resource alive now, where it was made, and what
//! context it carries, for finding leaks.
//!
//! Off until [`enable`] is called, so that building with the `diagnostics` feature (for
//! [`stats`](crate::stats) or the trace recorder) does not put a map insert on every spawn.
//! When on, it is sharded: a resource is filed under its id's block, and ids come in
//! per-thread blocks, so threads spawning at once mostly lock different shards.
//!
//! Only resources created while the registry is on are listed. It keeps variable *keys*, not
//! the context itself, so it never extends the life of a value or a frame.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use crate::AsyncId;
use crate::context::frame::Ctx;
use crate::counter::SHARDS;

static ON: AtomicBool = AtomicBool::new(false);

type Map = Option<HashMap<AsyncId, Live>>;
static LIVE: [Mutex<Map>; SHARDS] = [const { Mutex::new(None) }; SHARDS];

/// Ids are handed out in blocks of this many per thread (see `ids.rs`); filing by block keeps
/// one thread's resources in one shard. Only a performance matter: any value is correct.
const ID_BLOCK: u64 = 1024;

struct Live {
    kind: Cow<'static, str>,
    trigger: AsyncId,
    location: &'static Location<'static>,
    created: Instant,
    keys: SmallVec<[u64; 4]>,
}

fn shard(id: AsyncId) -> MutexGuard<'static, Map> {
    let i = (id.as_u64() / ID_BLOCK) as usize % SHARDS;
    // A critical section is one insert, remove, clone or clear: a poisoned map is consistent.
    LIVE[i].lock().unwrap_or_else(|p| p.into_inner())
}

/// What the registry knows of one live resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceInfo {
    /// The resource's id.
    pub id: AsyncId,
    /// Its kind ("task", "local", "blocking", "thread", or an `AsyncResource` name).
    pub kind: String,
    /// The execution id that created it.
    pub trigger: AsyncId,
    /// Where it was spawned or created (`#[track_caller]`).
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
    /// use ctxflow::diagnostics::registry;
    /// registry::enable();
    /// let res = ctxflow::AsyncResource::new("aged");
    /// let info = registry::live().into_iter().find(|r| r.id == res.id()).unwrap();
    /// assert!(info.age() < std::time::Duration::from_secs(3600));
    /// ```
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }
}

/// Starts recording resources as they are created. Resources created earlier are not listed.
///
/// ```
/// use ctxflow::diagnostics::registry;
/// registry::enable();
/// assert!(registry::is_enabled());
/// ```
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Stops recording and forgets every entry.
///
/// ```
/// use ctxflow::diagnostics::registry;
/// # // Other doc tests run in other processes, so this one may switch it off.
/// registry::disable();
/// assert!(registry::live().is_empty());
/// ```
pub fn disable() {
    ON.store(false, Ordering::Relaxed);
    for s in &LIVE {
        let forgotten = s.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(forgotten);
    }
}

/// Whether resources are being recorded.
///
/// ```
/// let _ = ctxflow::diagnostics::registry::is_enabled();
/// ```
pub fn is_enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

pub(crate) fn created(id: AsyncId, kind: &str, trigger: AsyncId, location: &'static Location<'static>, ctx: &Ctx) {
    if !is_enabled() {
        return;
    }
    let keys = ctx.as_ref().map(|f| crate::context::frame::keys(f).collect()).unwrap_or_default();
    let live = Live { kind: super::intern_kind(kind), trigger, location, created: Instant::now(), keys };
    shard(id).get_or_insert_with(HashMap::new).insert(id, live);
}

pub(crate) fn dropped(id: AsyncId) {
    if !is_enabled() {
        return;
    }
    let gone = shard(id).as_mut().and_then(|m| m.remove(&id));
    drop(gone);
}

/// Every live resource recorded since [`enable`], oldest first.
///
/// ```
/// use ctxflow::diagnostics::registry;
/// static USER: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("user");
/// registry::enable();
/// let res = USER.sync_scope("ada", || ctxflow::AsyncResource::new("session"));
/// let info = registry::live().into_iter().find(|r| r.id == res.id()).unwrap();
/// assert_eq!((info.kind.as_str(), info.variables.clone()), ("session", vec!["user".to_string()]));
/// drop(res);
/// assert!(registry::live().iter().all(|r| r.kind != "session"));
/// ```
pub fn live() -> Vec<ResourceInfo> {
    let mut all = Vec::new();
    for s in &LIVE {
        let map = s.lock().unwrap_or_else(|p| p.into_inner());
        all.extend(
            map.iter().flatten().map(|(id, l)| (*id, l.kind.clone(), l.trigger, l.location, l.created, l.keys.clone())),
        );
    }
    // Names are looked up outside the shard locks.
    let mut all: Vec<ResourceInfo> = all
        .into_iter()
        .map(|(id, kind, trigger, location, created, keys)| ResourceInfo {
            id,
            kind: kind.into_owned(),
            trigger,
            location,
            created,
            variables: crate::context::names::of(keys.into_iter()),
        })
        .collect();
    all.sort_by_key(|r| (r.created, r.id));
    all
}
