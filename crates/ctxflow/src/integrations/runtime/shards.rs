//! The side table's storage: a map from task id, split into shards, each behind a spin lock.
//!
//! Every read of the context by a tracked task outside its own scopes takes a shard lock once
//! (and, with hooks registered, every poll; see `table.rs`), so the lock's own cost shows
//! directly in what a read costs. Critical sections here are a hash probe and a few moves,
//! never user code, so a spin lock fits: taking it is one atomic
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
    shards: [Padded<V>; SHARDS],
}

impl<V> Shards<V> {
    /// Empty shards; `const`, for a `static` table (nothing is allocated before the first insert).
    pub(crate) const fn new() -> Self {
        Shards { shards: [const { Padded(SpinMutex::new(HashMap::with_hasher(TaskIdHash))) }; SHARDS] }
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
    // No critical section runs user code or waits, so waiting for the lock is always right.
    retry(|_| shard.try_lock())
}

/// Repeats `attempt` until it gives an answer, backing off between tries: for something that
/// another thread is about to release. The argument says whether the caller is still patient:
/// after [`PATIENCE`] tries it is false. An attempt that waits on a mark another thread's hook
/// should clear must then answer (a hook that never comes, on a thread torn down mid-poll, must
/// not stall a worker for good); one that waits for a shard lock keeps trying, since every
/// holder releases it within a few instructions.
#[inline]
pub(crate) fn retry<R>(mut attempt: impl FnMut(bool) -> Option<R>) -> R {
    let mut backoff = Backoff::default();
    loop {
        let patient = backoff.spins < PATIENCE;
        if let Some(answer) = attempt(patient) {
            return answer;
        }
        backoff.snooze();
    }
}

/// Tries [`retry`] makes before it stops waiting: the spins, then many yields of the thread,
/// far more than any release a few instructions away needs.
const PATIENCE: u32 = 100_000;

/// Waiting for something another thread is about to release: spin briefly, then yield.
#[derive(Default)]
struct Backoff {
    spins: u32,
}

impl Backoff {
    fn snooze(&mut self) {
        if self.spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
        self.spins = self.spins.saturating_add(1);
    }
}
