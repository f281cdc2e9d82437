//! A tracked task's entry as its slot holds it: the context, the two async ids, and the part of
//! the task's key that the slot's index does not give, in 24 bytes.
//!
//! The entry lives from the task's spawn to its end, so its size is memory per live task, and
//! the table's lines go cold in between, so it is also cache lines per spawn. Whole, it would be
//! a 64-bit key, a pointer and two 64-bit ids. Packed:
//!
//! - the key shrinks to its *generation*: the quotient of the task's position in its shard
//!   (`task_hash.rs`) by the count of slots, whose remainder the slot's index already gives;
//! - each async id keeps 48 bits: ids are handed out from one counter in blocks, and a process
//!   handing out a million a second reaches 2^48 after some nine years.
//!
//! Nothing is ever cut short: an entry whose generation or ids do not fit is not packed, and
//! the table keeps it whole in its overflow map (`slots.rs`). Packing only decides where an
//! entry lives.

use std::num::NonZeroU32;

use crate::context::frame::Ctx;
use crate::resource::ids::AsyncId;
use crate::resource::tracked::Resource;

/// An entry packed into a slot. It is unpacked to be dropped ([`Packed::unpack`]), so that its
/// resource's `destroy` runs as a `Resource`'s does.
pub(crate) struct Packed {
    ctx: Ctx,
    /// The generation plus one, so that the zero left free marks an empty slot in
    /// `Option<Packed>` at no cost in size.
    tag: NonZeroU32,
    id_low: u32,
    trigger_low: u32,
    id_high: u16,
    trigger_high: u16,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Option<Packed>>() == 24);

impl Packed {
    /// Packs `resource` for the slot of a key of generation `generation`; hands it back,
    /// untouched, if the generation or an id does not fit.
    pub(crate) fn pack(resource: Resource, generation: u64) -> Result<Packed, Resource> {
        let (id, trigger) = (resource.id.0, resource.trigger.0);
        let tag = tag_of(generation);
        let (Some(tag), Some((id_high, id_low)), Some((trigger_high, trigger_low))) = (tag, split(id), split(trigger))
        else {
            return Err(resource);
        };
        let (ctx, _, _) = resource.into_parts();
        Ok(Packed { ctx, tag, id_low, trigger_low, id_high, trigger_high })
    }

    /// Whether this is the entry of the key of generation `generation` that names its slot.
    #[inline]
    pub(crate) fn is(&self, generation: u64) -> bool {
        self.generation() == generation
    }

    /// The generation of the key this entry was packed for.
    pub(crate) fn generation(&self) -> u64 {
        u64::from(self.tag.get() - 1)
    }

    /// The same entry, for a slot where its key's generation is `generation` (the slots grew);
    /// handed back as it is if `generation` does not fit.
    pub(crate) fn regenerated(self, generation: u64) -> Result<Packed, Packed> {
        match tag_of(generation) {
            Some(tag) => Ok(Packed { tag, ..self }),
            None => Err(self),
        }
    }

    pub(crate) fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    pub(crate) fn ctx_mut(&mut self) -> &mut Ctx {
        &mut self.ctx
    }

    /// The execution id and trigger id.
    #[inline]
    pub(crate) fn ids(&self) -> (AsyncId, AsyncId) {
        (AsyncId(join(self.id_high, self.id_low)), AsyncId(join(self.trigger_high, self.trigger_low)))
    }

    /// The resource, whole again.
    pub(crate) fn unpack(self) -> Resource {
        let (id, trigger) = self.ids();
        Resource::from_parts(self.ctx, id, trigger)
    }
}

/// The tag of generation `generation`, if it fits.
fn tag_of(generation: u64) -> Option<NonZeroU32> {
    u32::try_from(generation.checked_add(1)?).ok().and_then(NonZeroU32::new)
}

/// An id's high 16 and low 32 bits, if it has no more than 48.
fn split(id: u64) -> Option<(u16, u32)> {
    Some((u16::try_from(id >> 32).ok()?, id as u32))
}

fn join(high: u16, low: u32) -> u64 {
    u64::from(high) << 32 | u64::from(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(id: u64, trigger: u64) -> Resource {
        Resource::from_parts(None, AsyncId(id), AsyncId(trigger))
    }

    fn ids(r: &Resource) -> (u64, u64) {
        (r.id.0, r.trigger.0)
    }

    #[test]
    fn an_entry_comes_back_whole_with_its_generation() {
        for (id, trigger, generation) in
            [(2_048, 1, 0), ((1 << 48) - 1, 0, 7), (1 << 32, (1 << 48) - 1, u64::from(u32::MAX) - 1)]
        {
            let packed = Packed::pack(resource(id, trigger), generation).ok().unwrap();
            assert!(packed.is(generation) && !packed.is(generation + 1) && !packed.is(generation.wrapping_sub(1)));
            assert_eq!(packed.generation(), generation);
            assert_eq!(packed.ids(), (AsyncId(id), AsyncId(trigger)));
            assert_eq!(ids(&packed.unpack()), (id, trigger));
        }
    }

    #[test]
    fn what_does_not_fit_is_handed_back_untouched() {
        for (id, trigger, generation) in
            [(1 << 48, 1, 0), (5, 1 << 48, 0), (5, 1, u64::from(u32::MAX)), (5, 1, u64::MAX)]
        {
            let back = Packed::pack(resource(id, trigger), generation).err().unwrap();
            assert_eq!(ids(&back), (id, trigger));
        }
    }

    #[test]
    fn a_regenerated_entry_keeps_its_context_and_ids() {
        static VAR: crate::ContextVar<u32> = crate::ContextVar::new("var");
        let frame = VAR.sync_scope(1, crate::context::current::capture_inherited);
        assert!(frame.is_some());
        for (generation, new) in [(0, 0), (7, 5), (u64::from(u32::MAX) - 1, 3), (9, u64::from(u32::MAX))] {
            let packed = Packed::pack(Resource::from_parts(frame.clone(), AsyncId(9), AsyncId(4)), generation);
            let regenerated = packed.ok().unwrap().regenerated(new);
            let fits = new < u64::from(u32::MAX);
            assert_eq!(regenerated.is_ok(), fits, "{new}");
            let back = regenerated.unwrap_or_else(|same| same);
            assert!(back.is(if fits { new } else { generation }));
            assert_eq!(back.ids(), (AsyncId(9), AsyncId(4)));
            assert!(back.ctx().as_ref().zip(frame.as_ref()).is_some_and(|(a, b)| a.ptr_eq(b)));
            drop(back.unpack());
        }
    }
}
