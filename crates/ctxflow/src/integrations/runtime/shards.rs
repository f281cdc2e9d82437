//! The side table's storage: entries by task id (`slots.rs`), split into shards, each behind a
//! spin lock, with a few of its entries marked.
//!
//! Every read of the context by a tracked task outside its own scopes takes a shard lock once
//! (and, with hooks registered, every poll; see `table.rs`), so the lock's own cost shows
//! directly in what a read costs. Critical sections here are a slot's lookup and a few moves,
//! never user code, so a spin lock fits: taking it is one atomic
//! compare-and-swap and releasing it a plain store, half the atomic operations of a futex mutex
//! or dashmap's lock (measured on the spawn-and-yield benchmark). Shards keep workers that run
//! different tasks off each other's locks; a lock found taken is retried with a short spin, then
//! by yielding the thread, so a preempted holder is waited for without burning its core.

use spin::mutex::{SpinMutex, SpinMutexGuard};
use tokio::task::Id;

use super::slots::Slots;
use super::task_hash::{SHARDS, TaskKey, shard_of};

/// One shard: tasks' entries by task id, and marks `M` on a few of them.
pub(crate) struct Shard<M> {
    pub(crate) entries: Slots,
    pub(crate) marks: Marks<M>,
}

/// Marks on a few entries, kept apart from them so that the many unmarked entries do not pay
/// for a mark's room, padding included: entry size is both memory per task and cache lines
/// per spawn. A list, scanned in full: only entries whose poll is in flight are marked, a few
/// at most.
pub(crate) struct Marks<M>(Vec<(Id, M)>);

impl<M> Marks<M> {
    /// The mark on `task`'s entry, if it has one.
    pub(crate) fn get(&mut self, task: Id) -> Option<&mut M> {
        self.0.iter_mut().find(|(t, _)| *t == task).map(|(_, m)| m)
    }

    /// Marks `task`'s entry, which has no mark yet, with `mark`.
    pub(crate) fn set(&mut self, task: Id, mark: M) {
        debug_assert!(self.0.iter().all(|(t, _)| *t != task), "an entry marked twice");
        self.0.push((task, mark));
    }

    /// Takes the mark off `task`'s entry, if it has one.
    pub(crate) fn take(&mut self, task: Id) -> Option<M> {
        let at = self.0.iter().position(|(t, _)| *t == task)?;
        Some(self.0.swap_remove(at).1)
    }
}

/// A shard on its own cache lines, so that two workers on neighbouring shards do not contend.
#[repr(align(128))]
struct Padded<M>(SpinMutex<Shard<M>>);

pub(crate) struct Shards<M> {
    shards: [Padded<M>; SHARDS],
}

impl<M> Shards<M> {
    /// Empty shards; `const`, for a `static` table (nothing is allocated before the first insert).
    pub(crate) const fn new() -> Self {
        Shards {
            shards: [const { Padded(SpinMutex::new(Shard { entries: Slots::new(), marks: Marks(Vec::new()) })) };
                SHARDS],
        }
    }

    /// Runs `f` on the shard that holds `task`, under its lock. `f` must not run user code.
    #[inline]
    pub(crate) fn with<R>(&self, task: Id, f: impl FnOnce(&mut Shard<M>) -> R) -> R {
        let shard = &self.shards[shard_of(task.number())].0;
        f(&mut lock(shard))
    }

    /// Entries in all shards (each shard read at a slightly different moment).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).entries.len()).sum()
    }
}

#[inline]
fn lock<M>(shard: &SpinMutex<Shard<M>>) -> SpinMutexGuard<'_, Shard<M>> {
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
