//! Counters for diagnostics: live bindings, live resources, hook events and time in hooks.
//!
//! Everything here compiles to nothing unless the `diagnostics` feature is on, so the hot
//! paths pay for it only when a user asks for it. With the feature on, counters are sharded
//! per thread (no shared cache line on the spawn path), and hook time is *sampled*: reading
//! the clock twice per event would cost more than a typical hook callback, so one outermost
//! dispatch in [`SAMPLE_EVERY`] per thread is timed and counted that many times.

#[cfg(not(feature = "diagnostics"))]
pub(crate) use disabled::*;
#[cfg(feature = "diagnostics")]
pub(crate) use enabled::*;
#[cfg(feature = "diagnostics")]
pub use enabled::{Stats, stats};

#[cfg(not(feature = "diagnostics"))]
mod disabled {
    use std::panic::Location;

    use crate::context::frame::Ctx;
    use crate::resource::ids::AsyncId;

    pub(crate) struct HookTimer;

    #[inline(always)]
    pub(crate) fn resource_created(_: AsyncId, _: &str, _: AsyncId, _: &'static Location<'static>, _: &Ctx) {}
    #[inline(always)]
    pub(crate) fn resource_dropped(_: AsyncId) {}
    #[inline(always)]
    pub(crate) fn hook_timer(_outermost: bool) -> HookTimer {
        HookTimer
    }
    #[inline(always)]
    pub(crate) fn hook_time(_: HookTimer) {}
}

/// One outermost hook dispatch in this many (per thread) is timed; see [`Stats::hook_time`].
#[cfg(feature = "diagnostics")]
pub(crate) const SAMPLE_EVERY: u32 = 64;

#[cfg(feature = "diagnostics")]
mod enabled {
    use std::cell::Cell;
    use std::fmt;
    use std::panic::Location;
    use std::time::{Duration, Instant};

    use super::SAMPLE_EVERY;
    use crate::context::frame::{self, Ctx};
    use crate::counter::Counter;
    use crate::resource::ids::AsyncId;

    static RESOURCES: Counter = Counter::new();
    static HOOK_EVENTS: Counter = Counter::new();
    static HOOK_NANOS: Counter = Counter::new();

    thread_local! {
        static DISPATCHES: Cell<u32> = const { Cell::new(0) };
    }

    /// A reading of ctxflow's own counters, from [`stats`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct Stats {
        /// Variable bindings alive now: the entries of every live context frame (held by
        /// scopes, tasks, snapshots, threads, resources). A frame holds one per variable set.
        pub live_bindings: i64,
        /// Tracked resources alive now: tasks, blocking jobs and threads spawned through
        /// ctxflow, and `AsyncResource`s that have not been destroyed.
        pub live_resources: i64,
        /// Events delivered to hooks since the process started (nested ones included).
        pub hook_events: u64,
        /// Time spent delivering events to hooks since the process started: an estimate. One
        /// outermost dispatch in 64 per thread (the first, then every 64th) is timed and
        /// counted 64 times, so the figure is close for steady loads and coarse for a handful
        /// of events.
        pub hook_time: Duration,
    }

    /// Reads ctxflow's counters. A count of live bindings or resources that keeps growing under
    /// a steady load is a leak: a context captured and never released (see
    /// [`diagnostics::registry`](crate::diagnostics::registry) to find out where).
    ///
    /// ```
    /// let before = ctxflow::stats();
    /// let res = ctxflow::AsyncResource::new("stats-doc");
    /// assert!(ctxflow::stats().live_resources >= 1);
    /// drop(res);
    /// println!("{}", ctxflow::stats());
    /// # let _ = before;
    /// ```
    pub fn stats() -> Stats {
        Stats {
            live_bindings: frame::live(),
            live_resources: RESOURCES.sum(),
            hook_events: HOOK_EVENTS.sum().max(0) as u64,
            hook_time: Duration::from_nanos(HOOK_NANOS.sum().max(0) as u64),
        }
    }

    impl fmt::Display for Stats {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "{} live bindings, {} live resources, {} hook events, ~{:?} in hooks",
                self.live_bindings, self.live_resources, self.hook_events, self.hook_time
            )
        }
    }

    pub(crate) fn resource_created(
        id: AsyncId,
        kind: &str,
        trigger: AsyncId,
        at: &'static Location<'static>,
        ctx: &Ctx,
    ) {
        RESOURCES.add(1);
        crate::diagnostics::registry::created(id, kind, trigger, at, ctx);
    }
    pub(crate) fn resource_dropped(id: AsyncId) {
        RESOURCES.add(-1);
        crate::diagnostics::registry::dropped(id);
    }

    /// A dispatch in progress; holds the start time when this one is sampled.
    pub(crate) struct HookTimer(Option<Instant>);

    /// Counts an event; times it if it is an outermost dispatch picked by the sampling.
    pub(crate) fn hook_timer(outermost: bool) -> HookTimer {
        HOOK_EVENTS.add(1);
        if !outermost {
            // Its time is already inside the outer dispatch's.
            return HookTimer(None);
        }
        let n = DISPATCHES.try_with(|n| {
            let v = n.get();
            n.set(v.wrapping_add(1));
            v
        });
        HookTimer(matches!(n, Ok(v) if v % SAMPLE_EVERY == 0).then(Instant::now))
    }

    pub(crate) fn hook_time(timer: HookTimer) {
        if let Some(started) = timer.0 {
            let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX / 128);
            HOOK_NANOS.add(nanos.saturating_mul(i64::from(SAMPLE_EVERY)));
        }
    }
}
