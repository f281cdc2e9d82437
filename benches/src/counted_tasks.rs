//! The multi-thread workloads of the timed groups (`src/interleaved.rs`), for the instruction
//! probe (`src/bin/instr.rs`): each group runs its workload on the same 2-worker runtime, driven
//! the same way (every operation in turn from one task, inside a request scope), so that a count
//! stands beside the timed figure of the same name. The probe reports it per unit: per request
//! for `requests10k`, whose operation is a batch of [`REQUESTS`] requests; per spawned task for
//! `awaits20_mt`.
//!
//! Not among `sync_ops.rs`' groups: those are synchronous operations that criterion times too,
//! one call at a time, where these run as the timed groups run them.

use crate::interleaved;
use crate::workloads::REQUESTS;

/// A counted group of the probe.
pub struct Group {
    /// Its name: its records' group is `instr_<name>`.
    pub name: &'static str,
    /// The timed group whose workload it counts.
    timed: &'static str,
    /// Operations in one counted run.
    pub ops: u64,
    /// Units (requests, tasks) in one operation: the count is per unit.
    pub units: u64,
    /// Whether the probe also reports its cache misses: only a group with many tasks in flight
    /// has any to speak of (one task at a time stays in the cache).
    pub many_in_flight: bool,
}

impl Group {
    /// Runs `ops` operations for contender `name` (one of the timed groups' contenders), as one
    /// batch of the timed group; false if there is no such contender.
    pub fn run(&self, name: &str, ops: u64) -> bool {
        let timer = interleaved::group(self.timed).and_then(|g| g.timer_of(name, ops));
        timer.map(|mut run_batch| run_batch()).is_some()
    }
}

/// The groups, in report order.
pub const GROUPS: &[Group] = &[
    Group { name: "requests10k", timed: "requests10k_mt", ops: 1, units: REQUESTS, many_in_flight: true },
    Group { name: "awaits20_mt", timed: "awaits20_mt", ops: 4_000, units: 1, many_in_flight: false },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interleaved::CONTENDERS;

    #[test]
    fn every_listed_contender_runs_and_no_other() {
        for g in GROUPS {
            for name in CONTENDERS {
                assert!(g.run(name, 1), "{}/{name}", g.name);
            }
            assert!(!g.run("nope", 1));
        }
    }
}
