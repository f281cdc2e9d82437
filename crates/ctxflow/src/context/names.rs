//! Variable names: frames store only keys, so inspection (`Snapshot::names`) looks names up here.
//!
//! A key is recorded once, when its variable first gets one (`ContextVar::assign_key`), which
//! keeps the hot paths untouched. The table only grows: a variable created per request with
//! [`ContextVar::named`](crate::ContextVar::named) leaves one entry behind each time (static
//! variables, the normal case, add one entry each for the life of the process).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

static NAMES: Mutex<Option<HashMap<u64, Cow<'static, str>>>> = Mutex::new(None);

fn table() -> MutexGuard<'static, Option<HashMap<u64, Cow<'static, str>>>> {
    // Each critical section is one insert or lookup: a poisoned lock holds a consistent map.
    NAMES.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn record(key: u64, name: Cow<'static, str>) {
    table().get_or_insert_with(HashMap::new).insert(key, name);
}

/// The names of `keys`, in order; a variable with an empty name shows as `#<key>`.
pub(crate) fn of(keys: impl Iterator<Item = u64>) -> Vec<String> {
    let table = table();
    keys.map(|k| match table.as_ref().and_then(|t| t.get(&k)) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => format!("#{k}"),
    })
    .collect()
}
