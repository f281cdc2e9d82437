//! Variable names: frames store only keys, so inspection (`Snapshot::names`) looks names up here.
//!
//! A key is recorded once, when its variable first gets one (`ContextVar::assign_key`), which
//! keeps the hot paths untouched, and forgotten when the variable is dropped: static variables,
//! the normal case, hold one entry each for the life of the process, and a variable made per
//! request with [`ContextVar::named`](crate::ContextVar::named) holds one while it lives.

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

pub(crate) fn forget(key: u64) {
    if let Some(table) = table().as_mut() {
        table.remove(&key);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContextVar, Snapshot};

    fn recorded(key: u64) -> bool {
        table().as_ref().is_some_and(|t| t.contains_key(&key))
    }

    #[test]
    fn a_variable_made_at_run_time_takes_its_name_with_it() {
        // Fewer under miri, where each one is slow.
        let made = if cfg!(miri) { 20 } else { 1000 };
        let keys: Vec<u64> = (0..made)
            .map(|i| {
                let var = ContextVar::<u32>::named(format!("per-request-{i}"));
                let snap = var.sync_scope(i, Snapshot::capture);
                assert_eq!(snap.names(), [format!("per-request-{i}")]);
                let key = var.key();
                assert!(recorded(key));
                drop(var);
                // The value outlives its variable in the snapshot; its name does not.
                assert_eq!(snap.names(), [format!("#{key}")]);
                key
            })
            .collect();
        assert!(keys.iter().all(|k| !recorded(*k)), "names left behind");
    }
}
