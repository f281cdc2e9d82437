//! The live resource registry: every tracked resource alive now.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::Mutex;
use std::time::Instant;

use crate::AsyncId;
use crate::frame::Ctx;

/// What the registry knows of one live resource.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    /// The resource's id.
    pub id: AsyncId,
    /// Its kind ("task", "blocking", "thread", or an `AsyncResource` name).
    pub kind: String,
    /// The execution id that created it.
    pub trigger: AsyncId,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// When it was created.
    pub created: Instant,
    /// How many context variables it carries.
    pub variables: usize,
}

static LIVE: Mutex<Option<HashMap<AsyncId, ResourceInfo>>> = Mutex::new(None);

pub(crate) fn created(id: AsyncId, kind: &str, trigger: AsyncId, location: &'static Location<'static>, ctx: &Ctx) {
    let info = ResourceInfo {
        id,
        kind: kind.to_owned(),
        trigger,
        location,
        created: Instant::now(),
        variables: ctx.as_ref().map_or(0, |f| f.len()),
    };
    let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    live.get_or_insert_with(HashMap::new).insert(id, info);
}

pub(crate) fn dropped(id: AsyncId) {
    let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(map) = live.as_mut() {
        map.remove(&id);
    }
}

/// Every live resource, oldest first.
pub fn live() -> Vec<ResourceInfo> {
    let live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    let mut all: Vec<ResourceInfo> = live.as_ref().map(|m| m.values().cloned().collect()).unwrap_or_default();
    all.sort_by_key(|r| r.created);
    all
}
