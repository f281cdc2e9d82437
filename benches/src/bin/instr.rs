//! Instruction-count probe: instructions per synchronous operation (`src/sync_ops.rs`),
//! counted by valgrind's cachegrind, which no load on a shared machine can change.
//!
//! The project's one instruction counter. `instr probe` runs this binary as
//! `instr run <group> <name> <n>` under `valgrind --tool=cachegrind --cache-sim=no` with `n`
//! and `2n` operations; the difference of the two instruction totals over `n` is the cost of
//! one operation, start-up and set-up cancelled out. Prints JSON [`Record`]s (group
//! `instr_<group>`). Without valgrind on the PATH it says so on stderr and prints nothing.
//!
//! `instr count <program> <args>...` applies the same method to another probe, which must take
//! its operation count as its last argument: ctxflow-http's `layer_instructions` bench
//! (`scripts/layer-instructions.sh`). It prints one line, `<instructions per operation>`.

use std::process::{Command, ExitCode};

use ctxflow_benches::record::Record;
use ctxflow_benches::sync_ops::{self, GROUPS, Times};

const OPS: u64 = 100_000;

/// Total instructions of `instr run <group> <name> <n>` under cachegrind.
fn instructions(group: &str, name: &str, n: u64) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let exe = exe.to_str()?;
    counted(&[exe, "run", group, name], n)
}

/// Total instructions of `program args... n` under cachegrind.
fn counted(command: &[&str], n: u64) -> Option<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"])
        .args(command)
        .arg(n.to_string())
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    // "==123== I   refs:      1,234,567"
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains(" I") && l.contains("refs:"))?;
    line.rsplit("refs:").next()?.trim().replace(',', "").parse().ok()
}

fn probe() -> ExitCode {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("instr probe: valgrind is not installed; instruction counts skipped");
        return ExitCode::SUCCESS;
    }
    for (group, names) in GROUPS {
        for name in *names {
            match (instructions(group, name, OPS), instructions(group, name, 2 * OPS)) {
                (Some(one), Some(two)) => {
                    let per_op = two.saturating_sub(one) as f64 / OPS as f64;
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
            Ok(n) if sync_ops::run(group, name, &mut Times(n)) => ExitCode::SUCCESS,
            _ => ExitCode::from(2),
        },
        ["probe"] => probe(),
        ["count", command @ ..] if !command.is_empty() => match (counted(command, OPS), counted(command, 2 * OPS)) {
            (Some(one), Some(two)) => {
                println!("{:.1}", two.saturating_sub(one) as f64 / OPS as f64);
                ExitCode::SUCCESS
            }
            _ => {
                eprintln!("instr count: no count (is valgrind installed, and does the program run?)");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: instr probe | instr run <group> <name> <n> | instr count <program> <args>...");
            ExitCode::from(2)
        }
    }
}
