//! The side table's storage: a map from task id, split into shards, each behind a spin lock.
//!
//! Every poll of a tracked task takes a shard lock once (in the before-poll hook; the after-poll
//! hook goes through the entry, see `poll_token.rs`), so the lock's own cost shows directly in
//! the per-poll overhead. Critical sections here are a hash
//! probe and a few moves, never user code, so a spin lock fits: taking it is one atomic
//! compare-and-swap and releasing it a plain store, half the atomic operations of a futex mutex
//! or dashmap's lock (measured on the spawn-and-yield benchmark). Shards keep workers that run
//! different tasks off each other's locks; a lock found taken is retried with a short spin, then
//! by yielding the thread, so a preempted holder is waited for without burning its core.

use std::collections::HashMap;
use std::hash::BuildHasher;

use spin::mutex::{SpinMutex, SpinMutexGuard};
use tokio::task::Id;

use super::task_hash::{SHARDS, TaskIdHash, shard_of};

/// One shard's map.
pub(crate) type Shard<V> = HashMap<Id, V, TaskIdHash>;

/// A shard on its own cache lines, so that two workers on neighbouring shards do not contend.
#[repr(align(128))]
struct Padded<V>(SpinMutex<Shard<V>>);

pub(crate) struct Shards<V> {
    shards: Box<[Padded<V>]>,
}

impl<V> Shards<V> {
    pub(crate) fn new() -> Self {
        Shards { shards: (0..SHARDS).map(|_| Padded(SpinMutex::new(HashMap::with_hasher(TaskIdHash)))).collect() }
    }

    /// Runs `f` on the shard that holds `task`, under its lock. `f` must not run user code.
    #[inline]
    pub(crate) fn with<R>(&self, task: Id, f: impl FnOnce(&mut Shard<V>) -> R) -> R {
        let shard = &self.shards[shard_of(TaskIdHash.hash_one(task))].0;
        f(&mut lock(shard))
    }

    /// Entries in all shards (each shard read at a slightly different moment).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).len()).sum()
    }
}

#[inline]
fn lock<V>(shard: &SpinMutex<Shard<V>>) -> SpinMutexGuard<'_, Shard<V>> {
    if let Some(guard) = shard.try_lock() {
        return guard;
    }
    let mut backoff = Backoff::default();
    loop {
        backoff.snooze();
        if let Some(guard) = shard.try_lock() {
            return guard;
        }
    }
}

/// Waiting for something another thread is about to release: spin briefly, then yield.
#[derive(Default)]
pub(crate) struct Backoff {
    spins: u32,
}

impl Backoff {
    pub(crate) fn snooze(&mut self) {
        if self.spins < 64 {
            crate::sync::spin_loop();
        } else {
            crate::sync::yield_now();
        }
        self.spins = self.spins.saturating_add(1);
    }
}
