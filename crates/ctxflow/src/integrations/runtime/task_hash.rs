//! Where a task's entry goes in the side table: its shard, and its position there.
//!
//! tokio's task ids count up in spawn order, and tokio's own task memory is laid out in that
//! order too, so a run queue is walked roughly in address order. A scattering hash (SipHash,
//! Fx) would put consecutive tasks on unrelated cache lines, and a poll would then miss in the
//! table where the task's own memory hits. So runs of [`RUN`] consecutive ids go to one shard,
//! the runs are spread over the shards (workers running different tasks rarely share a lock),
//! and each shard numbers its ids in spawn order ([`position`]): its slots are indexed by that
//! number (`slots.rs`), and the map beside them, which takes the tasks whose slot was taken,
//! is keyed by it ([`PositionHash`]).
//!
//! A task id's bits: `[position, high bits][shard: SHARD_BITS][position, low bits: RUN_BITS]`.

use std::hash::{BuildHasher, Hash, Hasher};

/// Shards in a table: enough that workers seldom meet on one lock.
pub(crate) const SHARDS: usize = 1 << SHARD_BITS;
const SHARD_BITS: u32 = 6;
/// Consecutive ids kept together (one shard, neighbouring slots).
const RUN_BITS: u32 = 5;
#[cfg(test)]
const RUN: u64 = 1 << RUN_BITS;

/// The shard of task id `id`.
#[inline]
pub(crate) fn shard_of(id: u64) -> usize {
    ((id >> RUN_BITS) & (SHARDS as u64 - 1)) as usize
}

/// The position of task id `id` among the ids of its shard, in spawn order: below `2^58`,
/// and different for every two ids of one shard.
#[inline]
pub(crate) fn position(id: u64) -> u64 {
    (id >> (RUN_BITS + SHARD_BITS)) << RUN_BITS | (id & ((1 << RUN_BITS) - 1))
}

/// A task id, and the number inside it.
pub(crate) trait TaskKey: Copy {
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

/// Builds [`PositionHasher`]s.
#[derive(Clone, Copy, Default)]
pub(crate) struct PositionHash;

impl BuildHasher for PositionHash {
    type Hasher = PositionHasher;
    fn build_hasher(&self) -> PositionHasher {
        PositionHasher(0)
    }
}

/// Hashes a position in one shard (see [`position`]), for the map of tasks whose slot was
/// taken: neighbouring positions in neighbouring buckets, and the 7 tag bits mixed.
pub(crate) struct PositionHasher(u64);

impl Hasher for PositionHasher {
    fn write_u64(&mut self, position: u64) {
        let position = self.0 ^ position;
        let tag = position.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57;
        self.0 = tag << 57 | (position & ((1 << 57) - 1));
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `u64` (it writes one u64); any other input still hashes correctly.
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

    #[test]
    fn runs_of_ids_share_a_shard_and_take_consecutive_positions() {
        let base = 7 * RUN;
        for id in base..base + RUN {
            assert_eq!(shard_of(id), shard_of(base));
            assert_eq!(position(id), position(base) + (id - base));
        }
        assert_ne!(shard_of(base), shard_of(base + RUN));
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
            assert!(shard_ids(first).all(|id| shard_of(id) == shard_of(first)));
        }
        assert!(position(u64::MAX) < 1 << 58);
    }

    #[test]
    fn every_shard_is_used_and_positions_tell_a_shards_ids_apart() {
        let shards: HashSet<usize> = (1..100_000).map(shard_of).collect();
        assert_eq!(shards.len(), SHARDS);
        let of_shard_3: HashSet<u64> = (1..100_000).filter(|&id| shard_of(id) == 3).map(position).collect();
        assert_eq!(of_shard_3.len(), (1..100_000).filter(|&id| shard_of(id) == 3).count());
    }

    #[test]
    fn neighbouring_positions_hash_to_neighbouring_buckets_with_mixed_tags() {
        let hash = |p: u64| PositionHash.hash_one(p);
        for p in [0, 1_000, 1 << 40] {
            assert_eq!(hash(p + 1) & 0xFFFF, (hash(p) & 0xFFFF) + 1);
        }
        let tags: HashSet<u64> = (0..1_000).map(|p| hash(p) >> 57).collect();
        assert!(tags.len() > 100, "{} tags", tags.len());
    }
}
