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
//! A slot holds its entry packed (`packed.rs`): the slot's index gives the low bits of the
//! task's position, so the slot keeps only the rest of it, which makes the entry a quarter
//! smaller. An entry that does not pack goes to the overflow map, whole, as a task whose slot is
//! taken does.
//!
//! The array doubles when the entries would fill more than seven eighths of it, as a hash map
//! grows, and never shrinks: a shard keeps its peak capacity.

use std::collections::HashMap;

use super::packed::Packed;
use super::task_hash::{TaskIdHash, TaskKey, position};
use crate::context::frame::Ctx;
use crate::resource::ids::AsyncId;
use crate::resource::tracked::Resource;

/// Tasks' entries by task id `K`, all of one shard: packed in the id's slot (`packed.rs`), or
/// whole in the overflow map. The slots tell ids apart by their position in their shard, so
/// ids of two shards must never meet in one table.
pub(crate) struct Slots<K> {
    /// Empty, or a power of two long.
    slots: Vec<Option<Packed>>,
    /// The bits of a position that index the slots.
    index_bits: u32,
    overflow: HashMap<K, Resource, TaskIdHash>,
    len: usize,
}

/// An entry, found.
pub(crate) struct TaskEntry<'a> {
    pub(crate) ctx: &'a Ctx,
    /// The execution id and trigger id.
    pub(crate) ids: (AsyncId, AsyncId),
}

impl<'a> From<&'a Resource> for TaskEntry<'a> {
    fn from(r: &'a Resource) -> TaskEntry<'a> {
        TaskEntry { ctx: &r.ctx, ids: (r.id, r.trigger) }
    }
}

impl<K: TaskKey> Slots<K> {
    /// No entries; allocates nothing until the first insert.
    pub(crate) const fn new() -> Self {
        Slots { slots: Vec::new(), index_bits: 0, overflow: HashMap::with_hasher(TaskIdHash), len: 0 }
    }

    /// Entries, in the slots and the overflow map.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot of `key` and its generation, the rest of its position; the slots must not be
    /// empty.
    #[inline]
    fn slot_of(&self, key: &K) -> (usize, u64) {
        let position = position(key.number());
        ((position as usize) & (self.slots.len() - 1), position >> self.index_bits)
    }

    /// Puts `value` under `key`; hands back the value it replaced.
    pub(crate) fn insert(&mut self, key: K, value: Resource) -> Option<Resource> {
        if self.len >= self.slots.len() / 8 * 7 {
            self.grow();
        }
        let (at, generation) = self.slot_of(&key);
        let replaced = match &self.slots[at] {
            Some(packed) if packed.is(generation) => self.slots[at].take().map(Packed::unpack),
            // The key may have overflowed while its slot was taken, and the slot be free now.
            _ if self.overflow.is_empty() => None,
            _ => self.overflow.remove(&key),
        };
        self.place(at, generation, key, value);
        self.len += usize::from(replaced.is_none());
        replaced
    }

    /// Puts an entry not in the table yet in slot `at`, if it is free and the entry packs, or
    /// else in the overflow map.
    fn place(&mut self, at: usize, generation: u64, key: K, value: Resource) {
        let value = match &mut self.slots[at] {
            free @ None => match Packed::pack(value, generation) {
                Ok(packed) => {
                    *free = Some(packed);
                    return;
                }
                Err(value) => value,
            },
            Some(_) => value,
        };
        drop(self.overflow.insert(key, value));
    }

    /// Doubles the slots (from none to a first few) and places every entry again.
    #[cold]
    fn grow(&mut self) {
        let length = (self.slots.len() * 2).max(MIN_SLOTS);
        let slots = std::mem::replace(&mut self.slots, std::iter::repeat_with(|| None).take(length).collect());
        let old_bits = std::mem::replace(&mut self.index_bits, length.trailing_zeros());
        for (index, packed) in slots.into_iter().enumerate() {
            let Some(packed) = packed else { continue };
            // The index takes the generation's low bit. Two entries of the old slots never
            // meet: their old indices, which the new ones keep, differ.
            let at = index | ((packed.generation() & 1) as usize) << old_bits;
            self.slots[at] = Some(packed.doubled());
        }
        for (key, value) in std::mem::take(&mut self.overflow) {
            let (at, generation) = self.slot_of(&key);
            self.place(at, generation, key, value);
        }
    }

    /// The entry under `key`.
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<TaskEntry<'_>> {
        if self.slots.is_empty() {
            return None;
        }
        let (at, generation) = self.slot_of(key);
        match &self.slots[at] {
            Some(packed) if packed.is(generation) => Some(TaskEntry { ctx: packed.ctx(), ids: packed.ids() }),
            // A task whose slot was taken; the usual table has none.
            _ if self.overflow.is_empty() => None,
            _ => self.overflow.get(key).map(TaskEntry::from),
        }
    }

    /// The context under `key`, to change.
    #[inline]
    pub(crate) fn ctx_mut(&mut self, key: &K) -> Option<&mut Ctx> {
        if self.slots.is_empty() {
            return None;
        }
        let (at, generation) = self.slot_of(key);
        match &mut self.slots[at] {
            Some(packed) if packed.is(generation) => Some(packed.ctx_mut()),
            _ if self.overflow.is_empty() => None,
            _ => self.overflow.get_mut(key).map(|r| &mut r.ctx),
        }
    }

    /// Takes the entry under `key` out.
    pub(crate) fn remove(&mut self, key: &K) -> Option<Resource> {
        if self.slots.is_empty() {
            return None;
        }
        let (at, generation) = self.slot_of(key);
        let removed = match &self.slots[at] {
            Some(packed) if packed.is(generation) => self.slots[at].take().map(Packed::unpack),
            _ => self.overflow.remove(key),
        };
        self.len -= usize::from(removed.is_some());
        removed
    }
}

impl<K> Drop for Slots<K> {
    /// Entries dropped with the table end as they would have when taken out, with `destroy`.
    fn drop(&mut self) {
        for packed in self.slots.drain(..).flatten() {
            drop(packed.unpack());
        }
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

    /// An entry whose ids are `value` and a third of it.
    fn entry(value: u64) -> Resource {
        Resource::from_parts(None, AsyncId(value), AsyncId(value / 3))
    }

    /// The value an entry was made with.
    fn value(r: Resource) -> u64 {
        r.id.0
    }

    fn found(t: &Slots<u64>, key: u64) -> Option<u64> {
        t.get(&key).map(|e| {
            assert_eq!(e.ids.1.0, e.ids.0.0 / 3, "the trigger kept");
            e.ids.0.0
        })
    }

    fn a_frame() -> Ctx {
        static VAR: crate::ContextVar<u32> = crate::ContextVar::new("var");
        VAR.sync_scope(1, crate::context::current::capture_inherited)
    }

    #[test]
    fn consecutive_tasks_take_their_own_slots_and_are_found_changed_and_removed() {
        let mut t = Slots::new();
        assert_eq!(found(&t, 5), None);
        assert!(t.remove(&5).is_none());
        let ids: Vec<u64> = (0..1000).map(of_one_shard).collect();
        for &id in &ids {
            assert!(t.insert(id, entry(id * 10)).is_none());
        }
        assert!(t.overflow.is_empty(), "neighbouring positions never collide");
        assert_eq!(t.len(), 1000);
        assert_eq!(t.insert(ids[7], entry(71)).map(value), Some(ids[7] * 10), "a second insert replaces");
        assert_eq!(t.len(), 1000);
        *t.ctx_mut(&ids[8]).unwrap() = a_frame();
        for (i, &id) in ids.iter().enumerate() {
            let want = if i == 7 { 71 } else { id * 10 };
            assert_eq!(found(&t, id), Some(want));
            assert_eq!(t.get(&id).unwrap().ctx.is_some(), i == 8);
        }
        assert_eq!(found(&t, of_one_shard(1000)), None);
        for id in ids.iter().step_by(2) {
            assert!(t.remove(id).is_some());
            assert!(t.remove(id).is_none());
        }
        assert_eq!(t.len(), 500);
        assert!(ids.iter().enumerate().all(|(i, &id)| found(&t, id).is_some() == (i % 2 == 1)));
    }

    #[test]
    fn a_taken_slot_sends_the_entry_to_the_overflow_and_it_is_still_found() {
        let mut t = Slots::new();
        let slots = MIN_SLOTS as u64;
        let (a, b, c) = (of_one_shard(3), of_one_shard(3 + slots), of_one_shard(3 + 2 * slots));
        for id in [a, b, c] {
            assert!(t.insert(id, entry(id)).is_none());
        }
        assert_eq!(t.overflow.len(), 2, "b and c have a's slot");
        assert_eq!((found(&t, a), found(&t, b), found(&t, c)), (Some(a), Some(b), Some(c)));
        *t.ctx_mut(&c).unwrap() = a_frame();
        assert_eq!(t.remove(&a).map(value), Some(a));
        assert_eq!(found(&t, a), None);
        assert_eq!((found(&t, b), found(&t, c)), (Some(b), Some(c)), "found with the slot free");
        assert!(t.get(&c).unwrap().ctx.is_some());
        assert_eq!(t.insert(b, entry(2)).map(value), Some(b), "an overflowed key is replaced, not placed twice");
        assert_eq!(t.len(), 2);
        assert_eq!((t.remove(&b).map(value), t.remove(&c).map(value)), (Some(2), Some(c)));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn what_does_not_pack_is_kept_whole_in_the_overflow() {
        let mut t = Slots::new();
        // Ids past 48 bits; a key of a generation past 32 bits; two keys that the hash's
        // position bits cannot tell apart.
        let big_ids = of_one_shard(1);
        let far_key = of_one_shard(MIN_SLOTS as u64 * (1 << 32) + 2);
        let (near, alias) = (of_one_shard(3), of_one_shard(3) + (1 << 60));
        assert!(t.insert(big_ids, entry(1 << 50)).is_none());
        assert!(t.insert(far_key, entry(20)).is_none());
        assert!(t.insert(near, entry(30)).is_none());
        assert!(t.insert(alias, entry(40)).is_none());
        assert_eq!(t.overflow.len(), 3, "all but `near`");
        let all = [(big_ids, 1 << 50), (far_key, 20), (near, 30), (alias, 40)];
        for (key, want) in all {
            assert_eq!(found(&t, key), Some(want));
        }
        assert_eq!(t.remove(&near).map(value), Some(30));
        assert_eq!(found(&t, alias), Some(40), "not mistaken for `near`");
        assert_eq!(found(&t, near), None);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn growing_keeps_every_entry() {
        let mut t = Slots::new();
        // Long-lived tasks far apart, then a window of consecutive ones that grows the slots.
        let scattered: Vec<u64> = (0..40).map(|i| of_one_shard(i * 4_099)).collect();
        let window: Vec<u64> = (1_000_000..1_010_000).map(of_one_shard).collect();
        for &id in scattered.iter().chain(&window) {
            assert!(t.insert(id, entry(id)).is_none());
        }
        assert!(t.slots.len() / 8 * 7 >= t.len(), "at most seven eighths full");
        for &id in scattered.iter().chain(&window) {
            assert_eq!(found(&t, id), Some(id));
        }
        assert_eq!(t.len(), 10_040);
    }

    /// Inserts and removals as a shard sees them: its ids spawned in order, ending out of
    /// order, a few living long; checked against a `HashMap` at every step.
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
            // Values past 48 bits now and then, which stay whole in the overflow map.
            let v = if r % 97 == 0 { r } else { r >> 20 };
            if r % 3 != 0 {
                newest += 1 + (r >> 8) % 3;
                let id = of_one_shard(newest);
                assert_eq!(t.insert(id, entry(v)).map(value), model.insert(id, v));
            } else {
                // Mostly recent ids, sometimes old ones (a long-lived task, or none).
                let back = if r % 64 == 0 { (r >> 8) % newest } else { (r >> 8) % 4_000 };
                let id = of_one_shard(newest.saturating_sub(back));
                assert_eq!(t.remove(&id).map(value), model.remove(&id));
            }
            let probe = of_one_shard(newest.saturating_sub(next() % 5_000));
            assert_eq!(found(&t, probe), model.get(&probe).copied());
            assert_eq!(t.len(), model.len());
        }
        assert!(!t.overflow.is_empty(), "the run reached the overflow");
        for (&id, &v) in &model {
            assert_eq!(found(&t, id), Some(v));
        }
    }
}
