//! Instruction-count probe: instructions per synchronous operation (`src/sync_ops.rs`),
//! counted by valgrind's cachegrind, which no load on a shared machine can change.
//!
//! The project's instruction counter for what one process can repeat n times; a whole server
//! under load is counted by `scripts/layer-instructions.sh` instead, with valgrind's callgrind
//! (the same count), which can start counting after the server's warm-up.
//!
//! `instr probe [group...]` runs this binary as
//! `instr run <group> <name> <n>` under `valgrind --tool=cachegrind --cache-sim=no` with `n`
//! and `2n` operations; the difference of the two instruction totals over `n` is the cost of
//! one operation, start-up and set-up cancelled out. The groups of `src/counted_tasks.rs`
//! (`requests10k`, `awaits20_mt`) run on two workers, which steal and park differently from
//! run to run: their count is the lowest of several runs of the group's own number of
//! operations, less a run of none, reported per request or per task (see [`per_unit`]).
//! Prints JSON [`Record`]s (group `instr_<group>`). Without valgrind on the PATH it says so on
//! stderr and prints nothing.

use std::process::{Command, ExitCode};

use ctxflow_benches::counted_tasks;
use ctxflow_benches::record::Record;
use ctxflow_benches::sync_ops::{self, COUNTED_ONLY, GROUPS, Times};

/// Runs `n` operations `name` of `group`; false if there is no such operation.
fn run(group: &str, name: &str, n: u64) -> bool {
    match counted_tasks::group(group) {
        Some(g) => g.run(name, n),
        None => sync_ops::run(group, name, &mut Times(n)),
    }
}

/// Total instructions of `instr run <group> <name> <n>` under cachegrind.
fn instructions(group: &str, name: &str, n: u64) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new("valgrind")
        .args(["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"])
        .arg(exe)
        .args(["run", group, name, &n.to_string()])
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    // "==123== I   refs:      1,234,567"
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains(" I") && l.contains("refs:"))?;
    line.rsplit("refs:").next()?.trim().replace(',', "").parse().ok()
}

/// Instructions per operation of `name` in one of `sync_ops`' groups: exact, so two runs do.
fn per_operation(group: &str, name: &str) -> Option<f64> {
    const N: u64 = 100_000;
    let (one, two) = (instructions(group, name, N)?, instructions(group, name, 2 * N)?);
    Some(two.saturating_sub(one) as f64 / N as f64)
}

/// Runs of each contender of a multi-thread group.
const RUNS: usize = 5;

/// Instructions per unit of `name` in `g`: the lowest of [`RUNS`] runs of `g.ops` operations,
/// less a run of none (the start-up). The lowest, since what moves these counts only ever adds:
/// now and then the idle worker wakes, spins and steals more often than usual (docs/
/// benchmarks.md, "Method"). A difference of two runs would carry the spread of both instead.
fn per_unit(g: &counted_tasks::Group, name: &str) -> Option<f64> {
    let start_up = instructions(g.name, name, 0)?;
    let lowest = (0..RUNS).map(|_| instructions(g.name, name, g.ops)).collect::<Option<Vec<_>>>()?.into_iter().min()?;
    Some(lowest.saturating_sub(start_up) as f64 / (g.ops * g.units) as f64)
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
    let tasks = counted_tasks::GROUPS.iter().map(|g| (g.name, g.contenders, Some(g)));
    for (group, names, task_group) in sync.chain(tasks).filter(|(group, ..)| wanted(group)) {
        for name in names {
            let count = match task_group {
                Some(g) => per_unit(g, name),
                None => per_operation(group, name),
            };
            match count {
                Some(count) => Record::new(&format!("instr_{group}"), name, count, "instructions").print(),
                None => eprintln!("instr probe: no count for {group}/{name}"),
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
