//! Per-thread shards, so that recording never makes threads fight over one cache line.
//!
//! While the registry is enabled, every hook event bumps its event counter, and the trace
//! recorder files every event in a shard. One shared atomic (or list) would bounce its cache
//! line between all worker threads on every event; instead each thread is given a shard index
//! once, and writes only its own padded slot. Reading a total sums the slots, which is rare (a
//! user calling `stats()`).

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// How many shards each counter has. Threads beyond this share slots round-robin.
pub(crate) const SHARDS: usize = 16;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// This thread's shard index (0 while the thread is being torn down).
#[inline]
pub(crate) fn index() -> usize {
    SHARD.try_with(|s| *s).unwrap_or(0)
}

/// One slot on its own cache line (128 bytes covers the adjacent-line prefetcher too).
#[repr(align(128))]
struct Slot(AtomicI64);

/// A counter that threads add to without contending; [`sum`](Counter::sum) reads the total.
pub(crate) struct Counter([Slot; SHARDS]);

impl Counter {
    pub(crate) const fn new() -> Counter {
        Counter([const { Slot(AtomicI64::new(0)) }; SHARDS])
    }

    #[inline]
    pub(crate) fn add(&self, n: i64) {
        self.0[index()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The total. Exact once the counting threads are quiet; while they run, each slot is read
    /// at a slightly different moment, as with any set of relaxed counters.
    pub(crate) fn sum(&self) -> i64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_from_many_threads_sum_up() {
        static C: Counter = Counter::new();
        std::thread::scope(|s| {
            for t in 0..24 {
                s.spawn(move || {
                    for _ in 0..1000 {
                        C.add(if t % 2 == 0 { 2 } else { -1 });
                    }
                });
            }
        });
        assert_eq!(C.sum(), 12 * 2000 - 12 * 1000);
    }
}
