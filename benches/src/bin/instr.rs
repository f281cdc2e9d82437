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
//! one operation, start-up and set-up cancelled out. The group `requests10k`
//! (`src/counted_requests.rs`) counts batches of the requests workload, 1 and 2, and reports
//! instructions per request; its runtime has two workers, which steal and park differently from
//! run to run, so its count varies by a few hundred instructions a request where the others are
//! exact. Prints JSON [`Record`]s (group `instr_<group>`). Without valgrind on the PATH it says
//! so on stderr and prints nothing.

use std::process::{Command, ExitCode};

use ctxflow_benches::counted_requests;
use ctxflow_benches::record::Record;
use ctxflow_benches::sync_ops::{self, COUNTED_ONLY, GROUPS, Times};

/// `n` for `group`, and how many units one of its operations is (the figure is per unit).
fn plan(group: &str) -> (u64, u64) {
    if group == counted_requests::GROUP.0 { (1, counted_requests::BATCH) } else { (100_000, 1) }
}

/// Runs `n` operations `name` of `group`; false if there is no such operation.
fn run(group: &str, name: &str, n: u64) -> bool {
    if group == counted_requests::GROUP.0 {
        counted_requests::run(name, &mut Times(n))
    } else {
        sync_ops::run(group, name, &mut Times(n))
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

/// Counts every operation of the groups named in `only` (all of them if it is empty).
fn probe(only: &[&str]) -> ExitCode {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("instr probe: valgrind is not installed; instruction counts skipped");
        return ExitCode::SUCCESS;
    }
    let wanted = |group: &&str| only.is_empty() || only.contains(group);
    let groups = GROUPS.iter().chain(COUNTED_ONLY).chain([&counted_requests::GROUP]);
    for (group, names) in groups.filter(|(group, _)| wanted(group)) {
        let (n, units) = plan(group);
        for name in *names {
            match (instructions(group, name, n), instructions(group, name, 2 * n)) {
                (Some(one), Some(two)) => {
                    let per_op = two.saturating_sub(one) as f64 / (n * units) as f64;
                    Record::new(&format!("instr_{group}"), name, per_op, "instructions").print();
                }
                _ => eprintln!("instr probe: no count for {group}/{name}"),
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
