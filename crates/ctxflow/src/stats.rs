//! Counters for diagnostics: live frames, live resources, time spent in hooks.
//!
//! Everything here compiles to nothing unless the `diagnostics` feature is on, so the hot
//! paths pay for it only when a user asks for it.

#[cfg(not(feature = "diagnostics"))]
pub(crate) use disabled::*;
#[cfg(feature = "diagnostics")]
pub(crate) use enabled::*;
#[cfg(feature = "diagnostics")]
pub use enabled::{Stats, stats};

#[cfg(not(feature = "diagnostics"))]
mod disabled {
    use std::panic::Location;

    use crate::AsyncId;
    use crate::frame::Ctx;

    #[inline(always)]
    pub(crate) fn frame_created() {}
    #[inline(always)]
    pub(crate) fn frame_dropped() {}
    #[inline(always)]
    pub(crate) fn resource_created(_: AsyncId, _: &str, _: AsyncId, _: &'static Location<'static>, _: &Ctx) {}
    #[inline(always)]
    pub(crate) fn resource_dropped(_: AsyncId) {}
    #[inline(always)]
    pub(crate) fn hook_timer() {}
    #[inline(always)]
    pub(crate) fn hook_time(_: ()) {}
}

#[cfg(feature = "diagnostics")]
mod enabled {
    use std::panic::Location;
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use crate::AsyncId;
    use crate::frame::Ctx;

    static FRAMES: AtomicI64 = AtomicI64::new(0);
    static RESOURCES: AtomicI64 = AtomicI64::new(0);
    static HOOK_NANOS: AtomicU64 = AtomicU64::new(0);
    static HOOK_EVENTS: AtomicU64 = AtomicU64::new(0);

    /// A reading of ctxflow's own counters.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct Stats {
        /// Context frames alive now (held by scopes, tasks, snapshots, threads).
        pub live_frames: i64,
        /// Tracked resources alive now (tasks, blocking jobs, threads, `AsyncResource`s).
        pub live_resources: i64,
        /// Events delivered to hooks since the process started.
        pub hook_events: u64,
        /// Time spent inside hook callbacks since the process started.
        pub hook_time: Duration,
    }

    /// Reads ctxflow's counters. A count of live frames or resources that keeps growing
    /// under a steady load is a leak: a context captured and never released.
    ///
    /// ```
    /// let s = ctxflow::stats();
    /// assert!(s.live_frames >= 0);
    /// ```
    pub fn stats() -> Stats {
        Stats {
            live_frames: FRAMES.load(Ordering::Relaxed),
            live_resources: RESOURCES.load(Ordering::Relaxed),
            hook_events: HOOK_EVENTS.load(Ordering::Relaxed),
            hook_time: Duration::from_nanos(HOOK_NANOS.load(Ordering::Relaxed)),
        }
    }

    #[inline]
    pub(crate) fn frame_created() {
        FRAMES.fetch_add(1, Ordering::Relaxed);
    }
    #[inline]
    pub(crate) fn frame_dropped() {
        FRAMES.fetch_sub(1, Ordering::Relaxed);
    }
    pub(crate) fn resource_created(
        id: AsyncId,
        kind: &str,
        trigger: AsyncId,
        at: &'static Location<'static>,
        ctx: &Ctx,
    ) {
        RESOURCES.fetch_add(1, Ordering::Relaxed);
        crate::diagnostics::registry::created(id, kind, trigger, at, ctx);
    }
    pub(crate) fn resource_dropped(id: AsyncId) {
        RESOURCES.fetch_sub(1, Ordering::Relaxed);
        crate::diagnostics::registry::dropped(id);
    }
    pub(crate) fn hook_timer() -> Instant {
        Instant::now()
    }
    pub(crate) fn hook_time(started: Instant) {
        HOOK_NANOS.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        HOOK_EVENTS.fetch_add(1, Ordering::Relaxed);
    }
}
