//! The multi-thread workloads of the `tasks` bench, for the instruction probe
//! (`src/bin/instr.rs`): each group runs its workload on the same 2-worker runtime, driven the
//! same way (every operation in turn from one task, inside a request scope), so that a count
//! stands beside the timed figure of the same name. The probe reports it per unit: per request
//! for `requests10k`, whose operation is a batch of [`REQUESTS`] requests; per spawned task for
//! `awaits20_mt`.
//!
//! Not among `sync_ops.rs`' groups: those are synchronous operations that criterion times too,
//! one call at a time, where these run as the `tasks` bench runs them.

use std::hint::black_box;
use std::marker::PhantomData;

use crate::by_name::{NOOP_HOOK, Visitor, visit};
use crate::runtimes::multi_thread_builder;
use crate::workloads::{REQUESTS, Requests, SpawnAwaits, Workload};
use crate::{Automatic, Contender, Ctxflow, Opentelemetry, Plain, TaskLocal, Tracing};

/// A counted group of the probe.
pub struct Group {
    /// Its name: its records' group is `instr_<name>`.
    pub name: &'static str,
    /// The contenders it runs.
    pub contenders: &'static [&'static str],
    /// Operations in one counted run.
    pub ops: u64,
    /// Units (requests, tasks) in one operation: the count is per unit.
    pub units: u64,
    /// Whether the probe also reports its cache misses: only a group with many tasks in flight
    /// has any to speak of (one task at a time stays in the cache).
    pub many_in_flight: bool,
    /// Runs its workload for a contender: [`drive`] for the group's workload.
    drive: fn(&str, u64) -> bool,
}

impl Group {
    /// Runs `ops` operations for contender `name`; false if the group lists no such contender.
    pub fn run(&self, name: &str, ops: u64) -> bool {
        crate::runtimes::install_tracing_registry();
        self.contenders.contains(&name) && (self.drive)(name, ops)
    }
}

/// Every contender of the `tasks` bench.
const ALL: &[&str] =
    &[Plain::NAME, Ctxflow::NAME, NOOP_HOOK, Automatic::NAME, TaskLocal::NAME, Tracing::NAME, Opentelemetry::NAME];

/// The groups, in report order.
pub const GROUPS: &[Group] = &[
    Group {
        name: "requests10k",
        contenders: ALL,
        ops: 1,
        units: REQUESTS,
        many_in_flight: true,
        drive: drive::<Requests>,
    },
    Group {
        name: "awaits20_mt",
        contenders: ALL,
        ops: 4_000,
        units: 1,
        many_in_flight: false,
        drive: drive::<SpawnAwaits>,
    },
];

/// The group called `name`.
pub fn group(name: &str) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.name == name)
}

/// `ops` runs of workload `W` for contender `name`.
fn drive<W: Workload>(name: &str, ops: u64) -> bool {
    visit(name, Drive::<W> { ops, workload: PhantomData })
}

/// `ops` runs of workload `W`, one after another in one task, inside a request scope.
struct Drive<W> {
    ops: u64,
    workload: PhantomData<W>,
}

impl<W: Workload> Visitor for Drive<W> {
    fn visit<C: Contender>(self) {
        let rt = C::runtime(multi_thread_builder());
        let ops = self.ops;
        let driver = C::scope(7, async move {
            for _ in 0..ops {
                black_box(W::run::<C>().await);
            }
        });
        rt.block_on(rt.spawn(driver)).expect("the driving task completes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_contender_runs_and_no_other() {
        for g in GROUPS {
            for name in g.contenders {
                assert!(g.run(name, 1), "{}/{name}", g.name);
            }
            assert!(!g.run("nope", 1));
        }
        assert!(group("nope").is_none());
    }
}
