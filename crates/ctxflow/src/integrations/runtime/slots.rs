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
//! A slot holds its entry packed (`packed.rs`): the slot's index gives the task's position
//! modulo the count of slots, so the slot keeps only the quotient, which makes the entry a
//! quarter smaller. An entry that does not pack goes to the overflow map, whole, as a task whose
//! slot is taken does. The map is keyed by position, which tells the tasks of one shard apart
//! as their ids do: growing the slots moves packed entries, which keep no id.
//!
//! The slots grow by a quarter to a seventh (`slot_count.rs`) when the entries would fill more
//! than seven eighths of them, and never shrink: a shard keeps its peak capacity.

use std::collections::HashMap;

use super::packed::Packed;
use super::slot_count::SlotCount;
use super::task_hash::{PositionHash, TaskKey, position};
use crate::context::frame::Ctx;
use crate::resource::ids::AsyncId;
use crate::resource::tracked::Resource;

/// Tasks' entries by task id, all of one shard: packed in the slot of the id's position
/// (`packed.rs`), or whole in the overflow map. Positions tell apart the ids of one shard only,
/// so ids of two shards must never meet in one table.
pub(crate) struct Slots {
    /// Empty, or `count` long.
    slots: Vec<Option<Packed>>,
    count: SlotCount,
    /// Entries by position.
    overflow: HashMap<u64, Resource, PositionHash>,
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

impl Slots {
    /// No entries; allocates nothing until the first insert.
    pub(crate) const fn new() -> Self {
        Slots { slots: Vec::new(), count: SlotCount::FIRST, overflow: HashMap::with_hasher(PositionHash), len: 0 }
    }

    /// Entries, in the slots and the overflow map.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The position of `key`, its slot and its generation (the quotient of its position by the
    /// count of slots); the slots must not be empty.
    #[inline]
    fn slot_of(&self, key: &impl TaskKey) -> (u64, usize, u64) {
        let position = position(key.number());
        let (at, generation) = self.count.place(position);
        (position, at, generation)
    }

    /// Puts `value` under `key`; hands back the value it replaced.
    pub(crate) fn insert(&mut self, key: impl TaskKey, value: Resource) -> Option<Resource> {
        if self.len >= self.slots.len() / 8 * 7 {
            self.grow();
        }
        let (position, at, generation) = self.slot_of(&key);
        let replaced = match &self.slots[at] {
            Some(packed) if packed.is(generation) => self.slots[at].take().map(Packed::unpack),
            // The key may have overflowed while its slot was taken, and the slot be free now.
            _ if self.overflow.is_empty() => None,
            _ => self.take_overflowed(position),
        };
        self.place(position, at, generation, value);
        self.len += usize::from(replaced.is_none());
        replaced
    }

    /// Puts an entry not in the table yet in slot `at`, if it is free and the entry packs, or
    /// else in the overflow map.
    fn place(&mut self, position: u64, at: usize, generation: u64, value: Resource) {
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
        drop(self.overflow.insert(position, value));
    }

    /// Grows the slots (from none to a first few) and places every entry again.
    #[cold]
    fn grow(&mut self) {
        let old_count = self.count;
        if !self.slots.is_empty() {
            self.count = old_count.next();
        }
        let slots =
            std::mem::replace(&mut self.slots, std::iter::repeat_with(|| None).take(self.count.get()).collect());
        let overflowed = std::mem::take(&mut self.overflow);
        for (index, packed) in slots.into_iter().enumerate() {
            let Some(packed) = packed else { continue };
            let position = packed.generation() * old_count.get() as u64 + index as u64;
            let (at, generation) = self.count.place(position);
            // Two entries of the old slots meet in a new one only when their positions lie a
            // multiple of the new count apart: a task far older than the others still alive.
            // And a position's generation only falls as the count grows, so it still packs.
            let moved = match &self.slots[at] {
                None => packed.regenerated(generation),
                Some(_) => Err(packed),
            };
            match moved {
                Ok(packed) => self.slots[at] = Some(packed),
                Err(packed) => drop(self.overflow.insert(position, packed.unpack())),
            }
        }
        for (position, value) in overflowed {
            let (at, generation) = self.count.place(position);
            self.place(position, at, generation, value);
        }
    }

    /// The entry under `key`.
    #[inline]
    pub(crate) fn get(&self, key: &impl TaskKey) -> Option<TaskEntry<'_>> {
        if self.slots.is_empty() {
            return None;
        }
        let (position, at, generation) = self.slot_of(key);
        match &self.slots[at] {
            Some(packed) if packed.is(generation) => Some(TaskEntry { ctx: packed.ctx(), ids: packed.ids() }),
            // A task whose slot was taken; the usual table has none.
            _ if self.overflow.is_empty() => None,
            _ => self.overflowed(position),
        }
    }

    /// The entry of a task whose slot was taken. Out of line, as the overflow's other uses: the
    /// map's code would keep the usual lookup from being inlined where it is used.
    #[cold]
    #[inline(never)]
    fn overflowed(&self, position: u64) -> Option<TaskEntry<'_>> {
        self.overflow.get(&position).map(TaskEntry::from)
    }

    /// The context under `key`, to change.
    #[inline]
    pub(crate) fn ctx_mut(&mut self, key: &impl TaskKey) -> Option<&mut Ctx> {
        if self.slots.is_empty() {
            return None;
        }
        let (position, at, generation) = self.slot_of(key);
        match &mut self.slots[at] {
            Some(packed) if packed.is(generation) => Some(packed.ctx_mut()),
            _ if self.overflow.is_empty() => None,
            _ => overflowed_ctx(&mut self.overflow, position),
        }
    }

    /// Takes the entry under `key` out.
    #[inline]
    pub(crate) fn remove(&mut self, key: &impl TaskKey) -> Option<Resource> {
        if self.slots.is_empty() {
            return None;
        }
        let (position, at, generation) = self.slot_of(key);
        let removed = match &self.slots[at] {
            Some(packed) if packed.is(generation) => self.slots[at].take().map(Packed::unpack),
            _ if self.overflow.is_empty() => None,
            _ => self.take_overflowed(position),
        };
        self.len -= usize::from(removed.is_some());
        removed
    }

    #[cold]
    #[inline(never)]
    fn take_overflowed(&mut self, position: u64) -> Option<Resource> {
        self.overflow.remove(&position)
    }
}

/// [`Slots::ctx_mut`] for a task whose slot was taken: a function of the map alone, so that it
/// borrows no slot.
#[cold]
#[inline(never)]
fn overflowed_ctx(overflow: &mut HashMap<u64, Resource, PositionHash>, position: u64) -> Option<&mut Ctx> {
    overflow.get_mut(&position).map(|r| &mut r.ctx)
}

impl Drop for Slots {
    /// Entries dropped with the table end as they would have when taken out, with `destroy`.
    fn drop(&mut self) {
        for packed in self.slots.drain(..).flatten() {
            drop(packed.unpack());
        }
    }
}

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

    fn found(t: &Slots, key: u64) -> Option<u64> {
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
        let slots = SlotCount::FIRST.get() as u64;
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
        // Ids past 48 bits; a key of a generation past 32 bits; a key far past that, in the
        // slot of another (its id differs from the other's in the top bits only).
        let big_ids = of_one_shard(1);
        let far_key = of_one_shard(SlotCount::FIRST.get() as u64 * (1 << 32) + 2);
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
        assert!(t.len() * 10 >= t.slots.len() * 7, "at least seven tenths full: {} in {}", t.len(), t.slots.len());
        for &id in scattered.iter().chain(&window) {
            assert_eq!(found(&t, id), Some(id));
        }
        assert_eq!(t.len(), 10_040);
    }

    #[test]
    fn entries_that_meet_in_the_grown_slots_go_to_the_overflow_and_are_still_found() {
        let mut t = Slots::new();
        let first = SlotCount::FIRST.get() as u64;
        let grown = SlotCount::FIRST.next().get() as u64;
        // Positions 0 and `grown` have slots of their own among the first slots, and one slot
        // among the grown ones.
        let (old, straggler) = (of_one_shard(0), of_one_shard(grown));
        assert!(t.insert(old, entry(old)).is_none());
        assert!(t.insert(straggler, entry(straggler)).is_none());
        assert!(t.overflow.is_empty());
        let others: Vec<u64> = (1..first).map(of_one_shard).collect();
        for &id in &others {
            assert!(t.insert(id, entry(id)).is_none());
        }
        assert_eq!(t.slots.len() as u64, grown, "grown once");
        assert_eq!(t.overflow.len(), 1, "one of the two met the other");
        for &id in others.iter().chain(&[old, straggler]) {
            assert_eq!(found(&t, id), Some(id));
        }
        *t.ctx_mut(&straggler).unwrap() = a_frame();
        assert!(t.get(&straggler).unwrap().ctx.is_some() && t.get(&old).unwrap().ctx.is_none());
        assert_eq!(t.remove(&old).map(value), Some(old));
        assert_eq!((found(&t, old), found(&t, straggler)), (None, Some(straggler)));
        assert_eq!(t.len(), others.len() + 1);
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
