//! The side table's hash: it keeps the table in spawn order.
//!
//! tokio's task ids count up in spawn order, and tokio's own task memory is laid out in that
//! order too, so a run queue is walked roughly in address order. A scattering hash (SipHash,
//! Fx) puts consecutive tasks on unrelated cache lines, and every poll then paid a cache miss in
//! the table (measured: most of the hooks' cost on a spawn-and-yield benchmark). This hash
//! keeps runs of [`RUN`] consecutive ids next to each other in one shard's table, spreads the
//! runs over the shards (so workers running different tasks rarely share a lock), and fills
//! the 7 tag bits hashbrown compares first with mixed bits, so probing stays short in the map
//! that takes the tasks whose slot was taken (`slots.rs`).
//!
//! Bit layout: `[tag: 7][shard: SHARD_BITS][position: the rest]`. The position counts a shard's
//! ids in spawn order, and the shard's slots are indexed by its low bits; hashbrown takes the
//! bucket from the low bits too and the tag from the top 7 bits, and [`shard_of`] takes the bits
//! in between.

use std::hash::{BuildHasher, Hash, Hasher};

/// Shards in a table: enough that workers seldom meet on one lock.
pub(crate) const SHARDS: usize = 1 << SHARD_BITS;
const SHARD_BITS: u32 = 6;
/// Consecutive ids kept together (one shard, adjacent buckets).
const RUN_BITS: u32 = 5;
#[cfg(test)]
const RUN: u64 = 1 << RUN_BITS;
const POSITION_BITS: u32 = 64 - 7 - SHARD_BITS;

/// The shard of a hash made by [`TaskIdHasher`].
#[inline]
pub(crate) fn shard_of(hash: u64) -> usize {
    ((hash >> POSITION_BITS) & (SHARDS as u64 - 1)) as usize
}

/// The position of task id `id` among the ids of its shard, in spawn order. Exact for every
/// id: the hash keeps only its low bits, which ids past 2^57 would make ambiguous.
#[inline]
pub(crate) fn position(id: u64) -> u64 {
    (id >> (RUN_BITS + SHARD_BITS)) << RUN_BITS | (id & ((1 << RUN_BITS) - 1))
}

/// A task id, and the number inside it.
pub(crate) trait TaskKey: Copy + Eq + Hash {
    fn number(&self) -> u64;
}

impl TaskKey for tokio::task::Id {
    /// `task::Id` shows its number to a hasher only (a test checks it against its `Display`).
    #[inline]
    fn number(&self) -> u64 {
        let mut number = Number(0);
        self.hash(&mut number);
        number.0
    }
}

#[cfg(test)]
impl TaskKey for u64 {
    fn number(&self) -> u64 {
        *self
    }
}

/// Keeps the one `u64` a task id writes.
struct Number(u64);

impl Hasher for Number {
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `task::Id`; a single write of up to eight bytes still keeps its value.
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = u64::from_ne_bytes(word);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`TaskIdHasher`]s.
#[derive(Clone, Copy, Default)]
pub(crate) struct TaskIdHash;

impl BuildHasher for TaskIdHash {
    type Hasher = TaskIdHasher;
    fn build_hasher(&self) -> TaskIdHasher {
        TaskIdHasher(0)
    }
}

/// Hashes the one `u64` inside a `tokio::task::Id`.
pub(crate) struct TaskIdHasher(u64);

impl TaskIdHasher {
    fn spread(id: u64) -> u64 {
        let shard = (id >> RUN_BITS) & (SHARDS as u64 - 1);
        let position = position(id) & ((1 << POSITION_BITS) - 1);
        let tag = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57;
        tag << 57 | shard << POSITION_BITS | position
    }
}

impl Hasher for TaskIdHasher {
    fn write_u64(&mut self, id: u64) {
        self.0 = TaskIdHasher::spread(self.0 ^ id);
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `task::Id` (it writes one u64); any other input still hashes correctly.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn hash(id: u64) -> u64 {
        let mut h = TaskIdHash.build_hasher();
        h.write_u64(id);
        h.finish()
    }

    #[test]
    fn runs_of_ids_share_a_shard_and_neighbouring_buckets() {
        let shard = shard_of;
        let base = 7 * RUN;
        for id in base..base + RUN {
            assert_eq!(shard(hash(id)), shard(hash(base)));
            assert_eq!(hash(id) & 0xFFFF, (hash(base) & 0xFFFF) + (id - base));
        }
        assert_ne!(shard(hash(base)), shard(hash(base + RUN)));
    }

    #[test]
    fn a_task_ids_number_is_the_one_it_shows() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ids: Vec<tokio::task::Id> = rt.block_on(async {
            let handles: Vec<_> = (0..100).map(|_| tokio::spawn(async { tokio::task::id() })).collect();
            let mut ids = Vec::new();
            for handle in handles {
                ids.push(handle.await.unwrap());
            }
            ids
        });
        for id in ids {
            assert_eq!(id.number().to_string(), id.to_string());
        }
    }

    #[test]
    fn positions_count_a_shards_ids_in_spawn_order_for_every_id() {
        let shard_ids = |first: u64| (0..4 * RUN).map(move |n| first + n / RUN * RUN * SHARDS as u64 + n % RUN);
        for first in [0, 5 * RUN, u64::MAX - (4 * RUN * SHARDS as u64) + 1 - RUN] {
            let positions: Vec<u64> = shard_ids(first).map(position).collect();
            assert!(positions.windows(2).all(|w| w[1] == w[0] + 1), "consecutive from {first}");
        }
        // Ids the hash's position bits cannot tell apart still have their own positions.
        let (low, high) = (3 * RUN, 3 * RUN + (1 << 60));
        assert_eq!(hash(low) & ((1 << POSITION_BITS) - 1), hash(high) & ((1 << POSITION_BITS) - 1));
        assert_ne!(position(low), position(high));
    }

    #[test]
    fn distinct_ids_hash_apart_and_every_shard_is_used() {
        let hashes: HashSet<u64> = (1..100_000).map(hash).collect();
        assert_eq!(hashes.len(), 99_999);
        let shards: HashSet<usize> = (1..100_000).map(|id| shard_of(hash(id))).collect();
        assert_eq!(shards.len(), SHARDS);
    }
}
