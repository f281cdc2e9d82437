//! A shard's entries: each in the slot its task's position names, unless another live task
//! holds that slot; then in a map beside the slots.
//!
//! tokio's task ids count up in spawn order, and a shard receives runs of consecutive ids
//! (`task_hash.rs`), so the tasks alive at one time mostly have neighbouring positions in their
//! shard. An array indexed by the position, modulo its length, holds nearly all of them without
//! a collision, and an insert, a lookup or a removal touches the entry's own line and nothing
//! else. A hash map also touches its control bytes, a second line; and the table's lines go cold
//! between a task's spawn and its end, so the lines touched are most of what those operations
//! cost. A task whose slot is taken (a long-lived task still holds it when the positions come
//! round to it) goes to the overflow map and costs one more lookup.
//!
//! The trade: tasks alive at one time whose positions are scattered rather than neighbouring
//! (long-lived connections among many short tasks) collide as in any table without probing,
//! and the overflow map then holds a share of them beside slots that stay partly empty, which
//! takes more memory than one hash map would.
//!
//! The array doubles when the entries would fill more than seven eighths of it, as a hash map
//! grows, and never shrinks: a shard keeps its peak capacity.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use super::task_hash::TaskIdHash;

/// Entries `V` by key `K` (a task id): in the key's slot, or in the overflow map.
pub(crate) struct Slots<K, V> {
    /// Empty, or a power of two long.
    slots: Vec<Option<(K, V)>>,
    overflow: HashMap<K, V, TaskIdHash>,
    len: usize,
}

impl<K: Copy + Eq + Hash, V> Slots<K, V> {
    /// No entries; allocates nothing until the first insert.
    pub(crate) const fn new() -> Self {
        Slots { slots: Vec::new(), overflow: HashMap::with_hasher(TaskIdHash), len: 0 }
    }

    /// Entries, in the slots and the overflow map.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot of `key`; the slots must not be empty.
    #[inline]
    fn slot_of(&self, key: K) -> usize {
        // The hash's low bits are the key's position in its shard (`task_hash.rs`).
        (TaskIdHash.hash_one(key) as usize) & (self.slots.len() - 1)
    }

    /// Puts `value` under `key`; hands back the value it replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        if self.len >= self.slots.len() / 8 * 7 {
            self.grow();
        }
        let at = self.slot_of(key);
        let replaced = match &mut self.slots[at] {
            Some((k, old)) if *k == key => Some(std::mem::replace(old, value)),
            free @ None => {
                // The key may have overflowed while its slot was taken, and the slot be free now.
                let overflowed = if self.overflow.is_empty() { None } else { self.overflow.get_mut(&key) };
                match overflowed {
                    Some(old) => Some(std::mem::replace(old, value)),
                    None => {
                        *free = Some((key, value));
                        None
                    }
                }
            }
            Some(_) => self.overflow.insert(key, value),
        };
        self.len += usize::from(replaced.is_none());
        replaced
    }

    /// Doubles the slots (from none to a first few) and places every entry again.
    #[cold]
    fn grow(&mut self) {
        let length = (self.slots.len() * 2).max(MIN_SLOTS);
        let slots = std::mem::replace(&mut self.slots, std::iter::repeat_with(|| None).take(length).collect());
        let overflow = std::mem::take(&mut self.overflow);
        for (key, value) in slots.into_iter().flatten().chain(overflow) {
            let at = self.slot_of(key);
            match &mut self.slots[at] {
                free @ None => *free = Some((key, value)),
                Some(_) => drop(self.overflow.insert(key, value)),
            }
        }
    }

    /// The value under `key`.
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        if self.slots.is_empty() {
            return None;
        }
        match &self.slots[self.slot_of(*key)] {
            Some((k, value)) if k == key => Some(value),
            // A task whose slot was taken; the usual table has none.
            _ if self.overflow.is_empty() => None,
            _ => self.overflow.get(key),
        }
    }

    /// The value under `key`, to change.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        if self.slots.is_empty() {
            return None;
        }
        let at = self.slot_of(*key);
        match &mut self.slots[at] {
            Some((k, value)) if k == key => Some(value),
            _ if self.overflow.is_empty() => None,
            _ => self.overflow.get_mut(key),
        }
    }

    /// Takes the entry under `key` out.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        if self.slots.is_empty() {
            return None;
        }
        let at = self.slot_of(*key);
        let removed = match &self.slots[at] {
            Some((k, _)) if k == key => self.slots[at].take().map(|(_, value)| value),
            _ => self.overflow.remove(key),
        };
        self.len -= usize::from(removed.is_some());
        removed
    }
}

/// The slots a shard starts with: two runs of positions (`task_hash.rs`).
const MIN_SLOTS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids of one shard, in spawn order: its `n`-th id has position `n` (a shard receives
    /// every 64th run of 32 consecutive ids, `task_hash.rs`).
    fn of_one_shard(n: u64) -> u64 {
        n / 32 * 64 * 32 + n % 32
    }

    #[test]
    fn consecutive_tasks_take_their_own_slots_and_are_found_changed_and_removed() {
        let mut t = Slots::new();
        assert_eq!(t.get(&5u64), None);
        assert_eq!(t.remove(&5), None);
        let ids: Vec<u64> = (0..1000).map(of_one_shard).collect();
        for &id in &ids {
            assert_eq!(t.insert(id, id * 10), None);
        }
        assert!(t.overflow.is_empty(), "neighbouring positions never collide");
        assert_eq!(t.len(), 1000);
        assert_eq!(t.insert(ids[7], 71), Some(ids[7] * 10), "a second insert replaces");
        assert_eq!(t.len(), 1000);
        *t.get_mut(&ids[8]).unwrap() = 81;
        for (i, id) in ids.iter().enumerate() {
            let want = match i {
                7 => 71,
                8 => 81,
                _ => id * 10,
            };
            assert_eq!(t.get(id), Some(&want));
        }
        assert_eq!(t.get(&of_one_shard(1000)), None);
        for id in ids.iter().step_by(2) {
            assert!(t.remove(id).is_some());
            assert_eq!(t.remove(id), None);
        }
        assert_eq!(t.len(), 500);
        assert!(ids.iter().enumerate().all(|(i, id)| t.get(id).is_some() == (i % 2 == 1)));
    }

    #[test]
    fn a_taken_slot_sends_the_entry_to_the_overflow_and_it_is_still_found() {
        let mut t = Slots::new();
        let slots = MIN_SLOTS as u64;
        let (a, b, c) = (of_one_shard(3), of_one_shard(3 + slots), of_one_shard(3 + 2 * slots));
        for id in [a, b, c] {
            assert_eq!(t.insert(id, id), None);
        }
        assert_eq!(t.overflow.len(), 2, "b and c have a's slot");
        assert_eq!((t.get(&a), t.get(&b), t.get(&c)), (Some(&a), Some(&b), Some(&c)));
        *t.get_mut(&c).unwrap() += 1;
        assert_eq!(t.remove(&a), Some(a));
        assert_eq!(t.get(&a), None);
        assert_eq!((t.get(&b), t.get(&c)), (Some(&b), Some(&(c + 1))), "found with the slot free");
        assert_eq!(t.insert(b, 2), Some(b), "an overflowed key is replaced, not placed twice");
        assert_eq!(t.len(), 2);
        assert_eq!((t.remove(&b), t.remove(&c)), (Some(2), Some(c + 1)));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn growing_keeps_every_entry() {
        let mut t = Slots::new();
        // Long-lived tasks far apart, then a window of consecutive ones that grows the slots.
        let scattered: Vec<u64> = (0..40).map(|i| of_one_shard(i * 4_099)).collect();
        let window: Vec<u64> = (1_000_000..1_010_000).map(of_one_shard).collect();
        for &id in scattered.iter().chain(&window) {
            assert_eq!(t.insert(id, id), None);
        }
        assert!(t.slots.len() / 8 * 7 >= t.len(), "at most seven eighths full");
        for id in scattered.iter().chain(&window) {
            assert_eq!(t.get(id), Some(id));
        }
        assert_eq!(t.len(), 10_040);
    }

    /// Inserts and removals as the table sees them: ids of every shard, spawned in order,
    /// ending out of order, a few living long; checked against a `HashMap` at every step.
    #[test]
    fn agrees_with_a_map_under_a_moving_window() {
        let mut t = Slots::new();
        let mut model = HashMap::new();
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let steps = if cfg!(miri) { 2_000 } else { 200_000 };
        let mut newest = 1u64;
        for _ in 0..steps {
            let r = next();
            if r % 3 != 0 {
                newest += 1 + (r >> 8) % 3;
                assert_eq!(t.insert(newest, r), model.insert(newest, r));
            } else {
                // Mostly recent ids, sometimes old ones (a long-lived task, or none).
                let back = if r % 64 == 0 { (r >> 8) % newest } else { (r >> 8) % 4_000 };
                let id = newest.saturating_sub(back);
                assert_eq!(t.remove(&id), model.remove(&id));
            }
            let probe = newest.saturating_sub(next() % 5_000);
            assert_eq!(t.get(&probe), model.get(&probe));
            assert_eq!(t.len(), model.len());
        }
        assert!(!t.overflow.is_empty(), "the run reached the overflow");
        for (id, value) in &model {
            assert_eq!(t.get(id), Some(value));
        }
    }
}
