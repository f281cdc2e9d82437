//! Instruction-count probe: instructions per synchronous operation (`src/sync_ops.rs`),
//! counted by valgrind's cachegrind, which no load on a shared machine can change.
//!
//! The project's instruction counter for what one process can repeat n times; a whole server
//! under load is counted by `scripts/layer-instructions.sh` instead, with valgrind's callgrind
//! (the same count), which can start counting after the server's warm-up.
//!
//! `instr probe [group...]` runs this binary as
//! `instr run <group> <name> <n>` under `valgrind --tool=cachegrind` with `n`
//! and `2n` operations; the difference of the two instruction totals over `n` is the cost of
//! one operation, start-up and set-up cancelled out. The groups of `src/counted_tasks.rs`
//! (`requests10k`, `awaits20_mt`) run on two workers, which steal and park differently from
//! run to run: their count is the lowest of several runs of the group's own number of
//! operations, less a run of none, reported per request or per task (see [`per_unit`]). For
//! `requests10k` those runs simulate the caches too, and also report the first-level data
//! cache's misses per request: with thousands of tasks in flight, what a contender's polls and
//! reads touch in memory weighs on its time beside its instructions.
//! Prints JSON [`Record`]s (groups `instr_<group>`, and `misses_requests10k`).
//! Without valgrind on the PATH it says so on stderr and prints nothing.

use std::process::{Command, ExitCode};

use ctxflow_benches::record::Record;
use ctxflow_benches::sync_ops::{self, COUNTED_ONLY, GROUPS, Times};
use ctxflow_benches::{counted_tasks, interleaved};

/// Runs `n` operations `name` of `group`; false if there is no such operation.
fn run(group: &str, name: &str, n: u64) -> bool {
    match counted_tasks::GROUPS.iter().find(|g| g.name == group) {
        Some(g) => g.run(name, n),
        None => sync_ops::run(group, name, &mut Times(n)),
    }
}

/// What cachegrind counted in one run of `instr run <group> <name> <n>`.
#[derive(Clone, Copy)]
struct Counts {
    instructions: u64,
    /// Misses of the first-level data cache (reads and writes), when the cache was simulated.
    l1_data_misses: u64,
}

/// Counts `instr run <group> <name> <n>` under cachegrind, simulating the caches if
/// `simulate_caches` (otherwise `l1_data_misses` is 0).
fn counted(group: &str, name: &str, n: u64, simulate_caches: bool) -> Option<Counts> {
    let exe = std::env::current_exe().ok()?;
    let cache_sim = if simulate_caches { "--cache-sim=yes" } else { "--cache-sim=no" };
    let out = Command::new("valgrind")
        .args(["--tool=cachegrind", cache_sim, "--cachegrind-out-file=/dev/null"])
        .arg(exe)
        .args(["run", group, name, &n.to_string()])
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let text = String::from_utf8_lossy(&out.stderr);
    let instructions = summary_figure(&text, " I", "refs:")?;
    let l1_data_misses = if simulate_caches { summary_figure(&text, " D1", "misses:")? } else { 0 };
    Some(Counts { instructions, l1_data_misses })
}

/// The first figure after `label` on cachegrind's summary line that names `what`, as in
/// "==123== I   refs:      1,234,567" or "==123== D1  misses:  8,181  ( 4,800 rd + 3,381 wr)".
fn summary_figure(text: &str, what: &str, label: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.contains(what) && l.contains(label))?;
    let after = line.split(label).nth(1)?;
    after.split_whitespace().next()?.replace(',', "").parse().ok()
}

/// Instructions per operation of `name` in one of `sync_ops`' groups: exact, so two runs do.
fn per_operation(group: &str, name: &str) -> Option<f64> {
    const N: u64 = 100_000;
    let (one, two) = (counted(group, name, N, false)?, counted(group, name, 2 * N, false)?);
    Some(two.instructions.saturating_sub(one.instructions) as f64 / N as f64)
}

/// Runs of each contender of a multi-thread group.
const RUNS: usize = 5;

/// Instructions per unit of `name` in `g`, and for a group with many tasks in flight its
/// first-level data cache misses per unit: those of the run with the fewest instructions of
/// [`RUNS`] runs of `g.ops` operations, less a run of none (the start-up). The fewest, since
/// what moves these counts only ever adds: now and then the idle worker wakes, spins and steals
/// more often than usual (docs/benchmarks.md, "Method"). A difference of two runs would carry
/// the spread of both instead.
///
/// The misses are of valgrind's simulated caches, which the two workers share since valgrind
/// runs one thread at a time: they show how much more memory a contender's polls and reads
/// touch than tokio's own, which weighs on their time and which instructions do not show.
fn per_unit(g: &counted_tasks::Group, name: &str) -> Option<(f64, Option<f64>)> {
    let simulate = g.many_in_flight;
    let start_up = counted(g.name, name, 0, simulate)?;
    let runs = (0..RUNS).map(|_| counted(g.name, name, g.ops, simulate)).collect::<Option<Vec<_>>>()?;
    let lowest = runs.into_iter().min_by_key(|c| c.instructions)?;
    let per_unit = |run: u64, start_up: u64| run.saturating_sub(start_up) as f64 / (g.ops * g.units) as f64;
    let misses = simulate.then(|| per_unit(lowest.l1_data_misses, start_up.l1_data_misses));
    Some((per_unit(lowest.instructions, start_up.instructions), misses))
}

/// Counts every operation of the groups named in `only` (all of them if it is empty).
fn probe(only: &[&str]) -> ExitCode {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("instr probe: valgrind is not installed; instruction counts skipped");
        return ExitCode::SUCCESS;
    }
    let wanted = |group: &&str| only.is_empty() || only.contains(group);
    // Each group with its counted-task group, if it is one.
    let sync = GROUPS.iter().chain(COUNTED_ONLY).map(|&(group, names)| (group, names, None));
    let tasks = counted_tasks::GROUPS.iter().map(|g| (g.name, interleaved::CONTENDERS, Some(g)));
    for (group, names, task_group) in sync.chain(tasks).filter(|(group, ..)| wanted(group)) {
        for name in names {
            let (instructions, misses) = match task_group {
                Some(g) => per_unit(g, name).map_or((None, None), |(count, misses)| (Some(count), misses)),
                None => (per_operation(group, name), None),
            };
            match instructions {
                Some(count) => Record::new(&format!("instr_{group}"), name, count, "instructions").print(),
                None => eprintln!("instr probe: no count for {group}/{name}"),
            }
            if let Some(misses) = misses {
                Record::new(&format!("misses_{group}"), name, misses, "L1 data misses").print();
            }
        }
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["run", group, name, n] => match n.parse() {
            Ok(n) if run(group, name, n) => ExitCode::SUCCESS,
            _ => ExitCode::from(2),
        },
        ["probe", only @ ..] => probe(only),
        _ => {
            eprintln!("usage: instr probe [group...] | instr run <group> <name> <n>");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::summary_figure;

    #[test]
    fn reads_cachegrinds_summary() {
        let stderr = "==4879== I refs:        545,688\n\
                      ==4879== I1  misses:      2,001\n\
                      ==4879== D1  misses:      8,181  (      4,800 rd   +       3,381 wr)\n";
        assert_eq!(summary_figure(stderr, " I", "refs:"), Some(545_688));
        assert_eq!(summary_figure(stderr, " D1", "misses:"), Some(8_181));
        assert_eq!(summary_figure(stderr, " LL", "misses:"), None, "a line that is not there");
    }
}
