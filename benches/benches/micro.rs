//! Synchronous costs, timed without a runtime: reading the value, entering and leaving a
//! scope around one poll, and setting a scope up (see `src/sync_ops.rs`). Reference points:
//! a plain `thread_local!` read, an `Arc` clone+drop, and one heap allocation+free.

use std::time::Duration;

use criterion::{Bencher, Criterion, criterion_group, criterion_main};
use ctxflow_benches::rounds::{in_round_order, round};
use ctxflow_benches::sync_ops::{self, GROUPS, Runner};

/// Criterion's timing loop as a [`Runner`].
struct Timed<'a, 'b>(&'a mut Bencher<'b>);

impl Runner for Timed<'_, '_> {
    fn run<O, F: FnMut() -> O>(&mut self, op: F) {
        self.0.iter(op);
    }
}

fn micro(c: &mut Criterion) {
    for (group, names) in GROUPS {
        let mut g = c.benchmark_group(*group);
        for name in in_round_order(names.to_vec(), round()) {
            g.bench_function(name, |b| {
                sync_ops::run(group, name, &mut Timed(b));
            });
        }
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = micro }
criterion_main!(benches);
