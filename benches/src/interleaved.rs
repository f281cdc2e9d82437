//! The task workloads timed with every contender interleaved, batch by batch.
//!
//! A machine shared with other work changes speed from one second to the next. Timed one after
//! another, a few seconds each, two contenders can meet different loads, and their ratio
//! carries the difference. Here every
//! contender runs one batch in turn, again and again, so each contender's batches are spread
//! over the same stretch of time and meet the same loads. A figure is the median of a
//! contender's batches, per operation.
//!
//! Each repetition starts the cycle at another contender and runs it the other way round every
//! other time, so no contender always follows the same one (and inherits its caches and
//! allocator state).

use std::hint::black_box;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};

use crate::by_name::{NOOP_HOOK, Visitor, visit};
use crate::contenders::{Automatic, Contender, Ctxflow, Opentelemetry, Plain, TaskLocal, Tracing};
use crate::hook::register_noop;
use crate::record::Record;
use crate::report::stats::summarize;
use crate::runtimes::{current_thread_builder, install_tracing_registry, multi_thread_builder};
use crate::workloads::{Requests, SpawnAwaits, SpawnJoin, Workload};

/// A timed group: a workload on a runtime flavor, in batches of `batch` operations.
pub struct Group {
    /// The records' group.
    pub name: &'static str,
    /// Operations in one batch: enough for a batch of a few tens of milliseconds, long beside the
    /// clock's resolution and short beside the machine's changes of load.
    pub batch: u64,
    flavor: fn() -> Builder,
    timer: MakesTimer,
}

/// Makes the timer of a contender, named, on a runtime of a flavor, for batches of a size.
type MakesTimer = fn(&str, fn() -> Builder, u64) -> Option<Timer>;

/// Every contender, in the report's order.
pub const CONTENDERS: &[&str] =
    &[Plain::NAME, Ctxflow::NAME, NOOP_HOOK, TaskLocal::NAME, Tracing::NAME, Opentelemetry::NAME, Automatic::NAME];

/// The groups, in report order.
pub const GROUPS: &[Group] = &[
    Group { name: "spawn_join_ct", batch: 100_000, flavor: current_thread_builder, timer: timer::<SpawnJoin> },
    Group { name: "awaits20_ct", batch: 4_000, flavor: current_thread_builder, timer: timer::<SpawnAwaits> },
    Group { name: "awaits20_mt", batch: 2_000, flavor: multi_thread_builder, timer: timer::<SpawnAwaits> },
    Group { name: "requests10k_mt", batch: 1, flavor: multi_thread_builder, timer: timer::<Requests> },
];

/// The group called `name`.
pub fn group(name: &str) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.name == name)
}

/// The fewest repetitions of a timed group, however long they take.
pub const MIN_REPETITIONS: usize = 5;

/// Runs one batch of a contender and gives its duration.
pub type Timer = Box<dyn FnMut() -> Duration>;

impl Group {
    /// The timer of contender `name` (one of [`CONTENDERS`]) on a runtime of its own.
    pub fn timer(&self, name: &str) -> Option<Timer> {
        self.timer_of(name, self.batch)
    }

    /// The same with batches of `ops` operations (the instruction probe's own size).
    pub fn timer_of(&self, name: &str, ops: u64) -> Option<Timer> {
        install_tracing_registry();
        (self.timer)(name, self.flavor, ops)
    }

    /// Times `contenders` interleaved: after one batch each to warm up, a batch of each in
    /// turn, over and over for `duration` (and at least [`MIN_REPETITIONS`] times). One record
    /// per contender: the median batch, in nanoseconds per operation. `None` if a name is not a
    /// contender.
    ///
    /// A duration rather than a count of repetitions: every group gets the same time, whatever
    /// the length of its batches, and a run of the script takes a known time.
    pub fn time(&self, contenders: &[&str], duration: Duration) -> Option<Vec<Record>> {
        let mut timers = contenders.iter().map(|name| self.timer(name)).collect::<Option<Vec<_>>>()?;
        for timer in &mut timers {
            timer();
        }
        let mut batches = vec![Vec::new(); timers.len()];
        let start = Instant::now();
        let mut repetition = 0;
        while repetition < MIN_REPETITIONS || start.elapsed() < duration {
            for i in turn_order(timers.len(), repetition) {
                batches[i].push(timers[i]().as_nanos() as f64 / self.batch as f64);
            }
            repetition += 1;
        }
        let median = |times: &[f64]| summarize(times).map_or(f64::NAN, |s| s.median);
        Some(
            contenders
                .iter()
                .zip(&batches)
                .map(|(name, times)| Record::new(self.name, name, median(times), "ns"))
                .collect(),
        )
    }
}

/// The order in which `n` contenders run in repetition `repetition`: a cycle starting at a
/// different contender each time, backwards every other time.
///
/// ```
/// use ctxflow_benches::interleaved::turn_order;
/// assert_eq!(turn_order(3, 0), [0, 1, 2]);
/// assert_eq!(turn_order(3, 1), [1, 0, 2]);
/// assert_eq!(turn_order(3, 2), [2, 0, 1]);
/// ```
pub fn turn_order(n: usize, repetition: usize) -> Vec<usize> {
    let start = repetition % n.max(1);
    let step = |k: usize| if repetition.is_multiple_of(2) { (start + k) % n } else { (start + n - k) % n };
    (0..n).map(step).collect()
}

/// The timer of contender `name` for workload `W`, on a runtime of `flavor`.
fn timer<W: Workload>(name: &str, flavor: fn() -> Builder, batch: u64) -> Option<Timer> {
    let mut made = None;
    let hooked = name == NOOP_HOOK;
    visit(name, MakeTimer::<W> { flavor, batch, hooked, made: &mut made, workload: PhantomData }).then_some(())?;
    made
}

struct MakeTimer<'a, W> {
    flavor: fn() -> Builder,
    batch: u64,
    /// A no-op hook is registered around each of its batches (and only then: a hook is
    /// process-wide, and the other contenders run without it).
    hooked: bool,
    made: &'a mut Option<Timer>,
    workload: PhantomData<W>,
}

impl<W: Workload> Visitor for MakeTimer<'_, W> {
    fn visit<C: Contender>(self) {
        let rt = C::runtime((self.flavor)());
        let (batch, hooked) = (self.batch, self.hooked);
        *self.made = Some(Box::new(move || {
            let _hook = hooked.then(register_noop);
            run_batch::<C, W>(&rt, batch)
        }));
    }
}

/// Runs `W` `ops` times in one task of `rt`, inside a request scope of `C`; the time the task
/// took from its first operation to its last.
fn run_batch<C: Contender, W: Workload>(rt: &Runtime, ops: u64) -> Duration {
    let timed = C::scope(7, async move {
        let start = Instant::now();
        for _ in 0..ops {
            black_box(W::run::<C>().await);
        }
        start.elapsed()
    });
    rt.block_on(rt.spawn(timed)).expect("the timed task completes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_repetition_runs_each_contender_once() {
        for n in 1..6 {
            for repetition in 0..12 {
                let mut order = turn_order(n, repetition);
                order.sort_unstable();
                assert_eq!(order, (0..n).collect::<Vec<_>>(), "n {n}, repetition {repetition}");
            }
        }
    }

    #[test]
    fn no_contender_always_follows_the_same_one() {
        let n = CONTENDERS.len();
        for i in 0..n {
            let before: std::collections::BTreeSet<usize> = (0..2 * n)
                .filter_map(|repetition| {
                    let order = turn_order(n, repetition);
                    let at = order.iter().position(|&c| c == i)?;
                    at.checked_sub(1).map(|p| order[p])
                })
                .collect();
            assert!(before.len() >= 2, "contender {i} follows only {before:?}");
        }
    }

    #[test]
    fn times_every_contender_of_every_group() {
        for g in GROUPS {
            for name in CONTENDERS {
                let mut timer = g.timer_of(name, 1).unwrap_or_else(|| panic!("{}/{name}", g.name));
                // A contender whose workload fails on its runtime panics here.
                timer();
            }
            assert!(g.timer("node").is_none());
        }
    }

    #[test]
    fn a_record_per_contender_in_ns_per_operation() {
        let g = group("awaits20_ct").unwrap();
        let records = g.time(&["tokio", "ctxflow"], Duration::ZERO).unwrap();
        let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["tokio", "ctxflow"]);
        assert!(records.iter().all(|r| r.group == "awaits20_ct" && r.unit == "ns" && r.value > 0.0));
        assert!(g.time(&["tokio", "nope"], Duration::ZERO).is_none());
    }
}
