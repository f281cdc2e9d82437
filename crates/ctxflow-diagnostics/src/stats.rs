//! `stats()`: counts read from the registry's hook.

use std::fmt;

use crate::registry;

/// A reading of the registry's counts, from [`stats`]. Everything counts from the moment
/// [`registry::enable`] was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Tracked resources created since the registry was enabled and not yet destroyed: tasks,
    /// blocking jobs, threads and rayon jobs spawned through ctxflow (or on an opted-in
    /// runtime), and `AsyncResource`s. One that keeps growing under a steady load is a leak:
    /// [`leaks`](crate::leaks) says where they were made.
    pub live_resources: usize,
    /// Lifecycle events the registry received (`init`, `before`, `after`, `resolve`,
    /// `destroy`).
    pub events: u64,
}

/// Reads the registry's counts (all zero while it is disabled).
///
/// ```
/// ctxflow_diagnostics::registry::enable();
/// let res = ctxflow::AsyncResource::new("stats-doc");
/// assert!(ctxflow_diagnostics::stats().live_resources >= 1);
/// drop(res);
/// println!("{}", ctxflow_diagnostics::stats());
/// ```
pub fn stats() -> Stats {
    Stats { live_resources: registry::count(), events: registry::EVENTS.sum().max(0) as u64 }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} live resources, {} events", self.live_resources, self.events)
    }
}
