//! Writes docs/benchmarks.md and docs/benchmarks.svg from a results directory and prints
//! each cost budget with its measured figure and PASS/MISS.
//!
//! `report <results dir> <markdown out> <svg out>`. Everything the report says comes from the
//! results directory, so running it again on the same directory gives the same report: the
//! rounds are those of the figures, and the script leaves the commands it ran in
//! `commands.txt` and the run's date in `date.txt`.

use std::path::PathBuf;
use std::process::ExitCode;

use ctxflow_benches::report::{load, machine, markdown, stats::Results, svg, targets};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [results, md_out, svg_out] = args.as_slice() else {
        eprintln!("usage: report <results dir> <markdown out> <svg out>");
        return ExitCode::from(2);
    };
    let records = load::load(results);
    if records.is_empty() {
        eprintln!("report: no results under {}", results.display());
        return ExitCode::FAILURE;
    }
    let r = Results::new(&records);
    let checked = targets::check(&r);
    let rounds = r.round_count();
    let date = std::fs::read_to_string(results.join("date.txt"));
    let date = date.as_deref().map_or("an unrecorded date", str::trim);
    let commands = std::fs::read_to_string(results.join("commands.txt")).unwrap_or_default();
    let machine = machine::describe();
    let cx = markdown::Context { machine: &machine, commands: &commands, rounds, date };
    let subtitle = format!(
        "median of {}, interleaved, whiskers: min-max; {} ({} CPUs), {}, Node {}",
        markdown::rounds(rounds),
        machine.cpu,
        machine.cpus,
        machine.rustc,
        machine.node
    );
    let written = std::fs::write(md_out, markdown::render(&r, &checked, &cx))
        .and_then(|()| std::fs::write(svg_out, svg::render(&r, &subtitle)));
    if let Err(e) = written {
        eprintln!("report: cannot write the report: {e}");
        return ExitCode::FAILURE;
    }
    println!("Cost budgets (verdict, budget: measured):");
    for t in &checked {
        println!("  {:4}  {}: {}", t.verdict(), t.what, t.measured);
    }
    ExitCode::SUCCESS
}
