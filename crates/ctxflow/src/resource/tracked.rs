//! Tracked resources: what every task, blocking job, thread and `AsyncResource` carries.
//!
//! A [`Resource`] is the captured context plus the two ids. It announces
//! itself to the hooks when created and says goodbye (`destroy`) exactly once when dropped.

use std::panic::Location;

use super::hooks::{self, Init};
use super::ids::{self, AsyncId};
use crate::context::current::{self, Pushed};
use crate::context::frame::Ctx;
use crate::context::owner::Owner;

/// The context and ids a tracked resource runs with.
pub(crate) struct Resource {
    pub(crate) ctx: Ctx,
    pub(crate) id: AsyncId,
    pub(crate) trigger: AsyncId,
}

impl Resource {
    /// A resource created here, by the code running now, inheriting `ctx`.
    pub(crate) fn new(kind: &str, ctx: Ctx, trigger: AsyncId, at: &'static Location<'static>) -> Resource {
        let id = AsyncId::next();
        hooks::init(&Init { id, kind, trigger, location: at, ctx: &ctx });
        Resource { ctx, id, trigger }
    }

    /// A resource for something spawned here: inherits the inheritable part of the current
    /// context, triggered by the current execution id.
    pub(crate) fn spawned(kind: &str, at: &'static Location<'static>) -> Resource {
        Resource::new(kind, current::capture_inherited(), ids::current().0, at)
    }

    /// Enters the resource's context and ids; `before` now, `after` when the guard drops.
    #[inline]
    pub(crate) fn enter(&mut self) -> Running<'_> {
        let ids = (self.id, self.trigger);
        Running::new(&mut self.ctx, ids, true)
    }

    /// Enters the resource's context and ids without `before`/`after`: for dropping a
    /// cancelled task's future or a job that never ran, which is not a run of its code (a task
    /// cancelled before its first poll gets `init` and `destroy` only), but whose `Drop` code
    /// must still see the resource's context and ids.
    pub(crate) fn enter_silently(&mut self) -> Running<'_> {
        let ids = (self.id, self.trigger);
        Running::new(&mut self.ctx, ids, false)
    }

    /// The resource's context and ids, taken out without `destroy`: for a table that keeps
    /// them in another form and puts the resource back together with [`Resource::from_parts`].
    #[cfg(all(feature = "runtime", tokio_unstable, not(loom)))]
    pub(crate) fn into_parts(mut self) -> (Ctx, AsyncId, AsyncId) {
        let ctx = self.ctx.take();
        let id = std::mem::replace(&mut self.id, AsyncId::NONE);
        (ctx, id, self.trigger)
    }

    /// Undoes [`Resource::into_parts`]: no `init`, since the resource was announced already.
    #[cfg(all(feature = "runtime", tokio_unstable, not(loom)))]
    pub(crate) fn from_parts(ctx: Ctx, id: AsyncId, trigger: AsyncId) -> Resource {
        Resource { ctx, id, trigger }
    }
}

impl Resource {
    /// Emits `destroy` now; the later drop then does nothing.
    pub(crate) fn retire(&mut self) {
        let id = std::mem::replace(&mut self.id, AsyncId::NONE);
        if id != AsyncId::NONE {
            hooks::destroy(id);
        }
    }
}

impl Drop for Resource {
    fn drop(&mut self) {
        self.retire();
    }
}

/// A resource's code running on this thread: its context and ids are entered, and, when
/// announced, `before` has fired and `after` fires on drop (also on unwind).
///
/// One guard with one `Drop`, not a guard per piece: the pieces' guards, moved into a struct
/// and dropped by its glue, made each poll build the struct on the stack and call the glue out
/// of line.
pub(crate) struct Running<'a> {
    slot: &'a mut Ctx,
    pushed: Pushed,
    prev_ids: ids::Entry,
    /// The resource's id if `before` fired, so `after` is due.
    announced: Option<AsyncId>,
}

impl<'a> Running<'a> {
    #[inline]
    fn new(slot: &'a mut Ctx, ids: (AsyncId, AsyncId), announce: bool) -> Running<'a> {
        let owner = Owner::running();
        let pushed = current::push(slot, owner);
        let prev_ids = ids::enter(ids, owner);
        // Before the guard exists: `before`, like `after`, never unwinds.
        let announced = announce_before(ids.0, announce).then_some(ids.0);
        Running { slot, pushed, prev_ids, announced }
    }
}

impl Drop for Running<'_> {
    #[inline]
    fn drop(&mut self) {
        // `after` runs inside the resource's context and ids, so they are left last. It never
        // unwinds (a hook's panic is contained where the hook is called), so they are always
        // left.
        if let Some(id) = self.announced {
            hooks::after(id);
        }
        ids::restore(self.prev_ids);
        current::pop(self.slot, self.pushed);
    }
}

/// `before` for `id` now and `after` when dropped (also on unwind), if `announce` and a hook
/// is registered.
pub(crate) struct Announced {
    id: AsyncId,
    hooked: bool,
}

impl Announced {
    #[inline]
    pub(crate) fn new(id: AsyncId, announce: bool) -> Announced {
        Announced { id, hooked: announce_before(id, announce) }
    }
}

/// Fires `before` for `id` if `announce` and a hook is registered; whether it fired, and so
/// whether `after` is due.
#[inline]
fn announce_before(id: AsyncId, announce: bool) -> bool {
    let hooked = announce && hooks::enabled();
    if hooked {
        hooks::before(id);
    }
    hooked
}

impl Drop for Announced {
    #[inline]
    fn drop(&mut self) {
        if self.hooked {
            hooks::after(self.id);
        }
    }
}
