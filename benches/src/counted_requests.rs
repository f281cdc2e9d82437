//! The requests workload for the instruction probe (`src/bin/instr.rs`): one operation is a
//! batch of [`REQUESTS`] requests, on the 2-worker runtime the `tasks` bench times it on, and
//! driven the same way, from a task inside a request scope. The probe reports it per request.
//!
//! Not one of `sync_ops.rs`'s groups: those are synchronous operations that criterion times
//! too, and this workload is timed by the `tasks` bench already.

use crate::Contender;
use crate::by_name::{Visitor, visit};
use crate::runtimes::multi_thread_builder;
use crate::sync_ops::Runner;
use crate::workloads::{REQUESTS, Requests, Workload};

/// The group's name in the probe's records (`instr_requests10k`), and its contenders.
pub const GROUP: (&str, &[&str]) = (
    "requests10k",
    &["tokio", "ctxflow", "ctxflow_noop_hook", "ctxflow_runtime", "task_local", "tracing", "opentelemetry"],
);

/// Requests in one operation.
pub const BATCH: u64 = REQUESTS;

/// Runs one batch per operation of `runner` for contender `name`; false if there is no such
/// contender.
pub fn run<R: Runner>(name: &str, runner: &mut R) -> bool {
    crate::runtimes::install_tracing_registry();
    visit(name, Batches { runner })
}

/// One batch of requests per operation, from a task inside a request scope.
struct Batches<'a, R> {
    runner: &'a mut R,
}

impl<R: Runner> Visitor for Batches<'_, R> {
    fn visit<C: Contender>(self) {
        let rt = C::runtime(multi_thread_builder());
        self.runner.run(|| rt.block_on(rt.spawn(C::scope(7, Requests::run::<C>()))).unwrap_or(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_ops::Times;

    #[test]
    fn every_listed_contender_runs_and_no_other() {
        for name in GROUP.1 {
            assert!(run(name, &mut Times(1)), "{name}");
        }
        assert!(!run("nope", &mut Times(1)));
    }
}
