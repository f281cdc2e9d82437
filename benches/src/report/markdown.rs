//! docs/benchmarks.md, written from one run's results.

use std::fmt::Write as _;

use super::groups::{Group, HTTP, INSTR, NODE, TIME, shows_difference};
use super::machine::Machine;
use super::stats::{Results, Summary};
use super::targets::{Outcome, Target};

/// What the report needs besides the results.
pub struct Context<'a> {
    /// The machine.
    pub machine: &'a Machine,
    /// The commands the script ran, one per line.
    pub commands: &'a str,
    /// Rounds the figures come from.
    pub rounds: usize,
    /// When (UTC, as the script gives it).
    pub date: &'a str,
}

/// A figure in its unit, scaled for reading.
///
/// ```
/// use ctxflow_benches::report::markdown::figure;
/// assert_eq!(figure(1.234, "ns"), "1.23 ns");
/// assert_eq!(figure(2345.0, "ns"), "2.35 µs");
/// assert_eq!(figure(72.0, "bytes"), "72.0 bytes");
/// ```
pub fn figure(v: f64, unit: &str) -> String {
    if unit != "ns" {
        return format!("{v:.1} {unit}");
    }
    let (v, unit) = match v {
        v if v >= 1e6 => (v / 1e6, "ms"),
        v if v >= 1e3 => (v / 1e3, "µs"),
        v => (v, "ns"),
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

fn signed(v: f64, unit: &str) -> String {
    if v < 0.0 { format!("-{}", figure(-v, unit)) } else { format!("+{}", figure(v, unit)) }
}

fn ratio(s: Option<Summary>) -> String {
    match s {
        Some(s) if s.count > 1 => format!("{:.3}x ({:.3}-{:.3})", s.median, s.min, s.max),
        Some(s) => format!("{:.3}x", s.median),
        None => "-".into(),
    }
}

fn short_ratio(s: Option<Summary>) -> String {
    s.map_or("-".into(), |s| format!("{:.2}x", s.median))
}

fn group_table(out: &mut String, r: &Results, g: &Group) {
    let names = r.names(g.id);
    if names.is_empty() {
        return;
    }
    let unit = r.unit(g.id);
    let diff = shows_difference(g.id);
    let _ = writeln!(out, "\n### `{}`: {}\n", g.id, g.title);
    let extra = if diff { format!(" difference to `{}` |", g.base) } else { String::new() };
    let _ = writeln!(
        out,
        "| contender | median | min-max over rounds | ratio to `{}` (per-round, median and range) |{extra}",
        g.base
    );
    let _ = writeln!(out, "|---|---:|---:|---:|{}", if diff { "---:|" } else { "" });
    for name in names {
        let Some(s) = r.summary(g.id, name) else { continue };
        let extra = match r.difference(g.id, name, g.base) {
            Some(d) if diff => format!(" {} |", signed(d.median, unit)),
            _ if diff => " - |".into(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} - {} | {} |{extra}",
            figure(s.median, unit),
            figure(s.min, unit),
            figure(s.max, unit),
            ratio(r.ratio(g.id, name, g.base))
        );
    }
}

fn node_table(out: &mut String, r: &Results) {
    let _ = writeln!(out, "\n## Node.js beside ctxflow\n");
    let _ = writeln!(
        out,
        "Ratios to each side's own baseline (Node without ALS; tokio without any context), measured in the same run.\n"
    );
    let _ = writeln!(
        out,
        "| workload | Node ALS | Node no-op createHook | ctxflow | ctxflow + no-op hook | task_local | tracing | opentelemetry |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (node, rust) in NODE {
        let rs = |name| short_ratio(r.ratio(rust, name, "tokio"));
        let _ = writeln!(
            out,
            "| {} (Rust: `{rust}`) | {} | {} | {} | {} | {} | {} | {} |",
            node.short,
            short_ratio(r.ratio(node.id, "als", "plain")),
            short_ratio(r.ratio(node.id, "hook", "plain")),
            rs("ctxflow"),
            rs("ctxflow_noop_hook"),
            rs("task_local"),
            rs("tracing"),
            rs("opentelemetry"),
        );
    }
    for (node, _) in NODE {
        group_table(out, r, node);
    }
}

fn memory(out: &mut String, r: &Results) {
    let _ = writeln!(out, "\n## Memory\n");
    let _ = writeln!(
        out,
        "Counted by a global allocator wrapper on one thread (`cargo run --release -p ctxflow-benches --bin mem`). \
         Tasks are parked at an await inside a request scope. tokio allocates each task in a 128-byte-aligned cell, so \
         a wrapper's few bytes cost either nothing or 128 bytes depending on the future's size: the \"mean over 16 sizes\" \
         column sweeps the future across one 128-byte period and is the wrapper's real average cost. The automatic \
         runtime wraps nothing: its cost is its side table, whose slots grow in steps as the live tasks outnumber \
         them, so a task's share depends on the count of live tasks. Its mean is over 16 counts spread evenly, in \
         ratio, from 65 536 to twice that (each measured in a process of its own: the table keeps its peak \
         capacity for the process), and each count's figure is listed below the table.\n"
    );
    let _ = writeln!(
        out,
        "| contender | bytes per live task (empty future) | added vs tokio | mean over 16 sizes | added vs tokio (mean) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for name in r.names("mem_task") {
        let get = |g: &str| r.summary(g, name).map_or("-".into(), |s| format!("{:.1}", s.median));
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} |",
            get("mem_task"),
            get("mem_task_added"),
            get("mem_task_sweep"),
            get("mem_task_added_sweep")
        );
    }
    let counts: Vec<String> = r
        .names("mem_task_added_at_count")
        .into_iter()
        .filter_map(|name| {
            let count = name.rsplit('_').next()?;
            Some(format!("{count}: {:.1}", r.summary("mem_task_added_at_count", name)?.median))
        })
        .collect();
    if !counts.is_empty() {
        let _ = writeln!(
            out,
            "\nAutomatic runtime, bytes added per live task by count of live tasks: {}.",
            counts.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nNode, heap per pending item (an async function parked at an await; `--expose-gc`, 100 000 items):\n"
    );
    let _ = writeln!(out, "| Node variant | heap bytes per pending item | added vs plain |");
    let _ = writeln!(out, "|---|---:|---:|");
    for name in r.names("node_mem_pending") {
        let s = r.summary("node_mem_pending", name).map_or(f64::NAN, |s| s.median);
        let d = r.difference("node_mem_pending", name, "plain").map_or(f64::NAN, |s| s.median);
        let _ = writeln!(out, "| {name} | {s:.1} | {d:.1} |");
    }
    let _ = writeln!(out, "\nContext frames (100 000 live snapshots, each of its own scope) and equivalents:\n");
    let _ = writeln!(out, "| what | bytes each |\n|---|---:|");
    for name in r.names("mem_frame") {
        let s = r.summary("mem_frame", name).map_or(f64::NAN, |s| s.median);
        let _ = writeln!(out, "| {name} | {s:.1} |");
    }
    let _ = writeln!(out, "\nAllocations per operation (10 000 operations):\n");
    let _ = writeln!(out, "| operation | allocations |\n|---|---:|");
    for name in r.names("allocs") {
        let s = r.summary("allocs", name).map_or(f64::NAN, |s| s.median);
        let _ = writeln!(out, "| {name} | {s:.2} |");
    }
    for name in r.names("mem_after_end") {
        let s = r.summary("mem_after_end", name).map_or(f64::NAN, |s| s.median);
        let _ = writeln!(out, "\nLive bytes left per task after 100 000 tasks ended, {name}: {s:.2}");
    }
}

/// How each kind of figure is obtained.
fn method(out: &mut String) {
    let _ = writeln!(out, "\n## Method\n");
    for line in [
        "- **Time**, synchronous operations (`benches/benches/micro.rs`): criterion, 1 s of warm-up and 2 s of \
         measurement per contender and round; a figure is criterion's median time per iteration.",
        "- **Time**, tasks on tokio runtimes (`target/release/interleaved`, `benches/src/interleaved.rs`): every \
         contender on a runtime of its own, one batch each in turn (a few tens of milliseconds: 10 000 requests, or \
         thousands of tasks), over and over for 15 s a group and round, each pass starting at another contender \
         and every other pass in reverse; a figure is the contender's median batch, per operation. Timed one after \
         another for seconds each, two contenders meet different loads of this shared machine, and their ratio \
         carries the difference; interleaved, they meet the same. Every workload is written once, generically, so \
         contenders differ only in how they carry the context (`benches/src/workloads.rs`).",
        "- **Ratios**: each contender's figure over its baseline's *from the same round*, then the median and the \
         range over rounds. Rounds alternate the criterion suite's order, so drift of the machine within a round \
         does not favour whoever runs first.",
        "- **Instructions** (`target/release/instr probe`): each synchronous operation run n and 2n times under \
         `valgrind --tool=cachegrind`, the difference over n: exact, and unmoved by load. The multi-thread workloads \
         (`requests10k`, `awaits20_mt`) as they are timed, every thread counted: the lowest of five \
         runs (one batch of 10 000 requests; 4 000 spawned tasks of 20 awaits), less a run of none, per request or \
         per task. Their two workers steal and park differently from run to run: most runs count within a percent \
         of each other, and now and then one counts up to a fifth more, when the idle worker spins and steals \
         more than usual. The runs of `requests10k` simulate the caches too (`--cache-sim=yes`), and the run \
         counted also gives its first-level data cache misses, less the start-up's: valgrind runs one thread at a \
         time, so the two workers share one simulated cache. The HTTP service's \
         (`scripts/layer-instructions.sh --stack`): each variant's server under `valgrind --tool=callgrind`, \
         counting switched on after a one-second warm-up, then a bounded `wrk` run; its count over the requests \
         served. User space only: the kernel's socket work is not counted.",
        "- **Memory** (`target/release/mem`): a counting global allocator, one thread, 100 000 live tasks (and a \
         sweep over 16 future sizes across one of tokio's 128-byte cell periods; for the automatic runtime, over 16 \
         counts of live tasks from 65 536 to twice that, each in a process of its own); tokio's own bytes \
         subtracted.",
        "- **HTTP** (`target/release/http probe` and `http stack`): each server variant in its own process with one \
         tokio worker, loaded by `wrk` on loopback after a one-second warm-up; CPU per request is the process's \
         on-CPU nanoseconds (`/proc/<pid>/task/*/schedstat`, user and system) over the requests served. For the \
         service comparison the downstream service runs in a process of its own and is not counted.",
        "- **Node** (`benches/node/*.mjs`): the same workloads in Node, each variant in its own process, the ratio to \
         plain Node of the same round.",
    ] {
        let _ = writeln!(out, "{line}");
    }
}

fn targets_table(out: &mut String, targets: &[Target]) {
    let _ = writeln!(out, "\n## Cost budgets\n");
    let _ = writeln!(
        out,
        "A timed ratio passes when every round is within its limit and misses when none is; when the \
         rounds fall on both sides (this machine's noise), the verdict is UNRESOLVED and the \
         instruction count below it, where there is one, is the figure to go by. A budget that is \
         not met links to the section of the docs that measures the gap and says what closing it \
         would take.\n"
    );
    let _ = writeln!(out, "| budget | measured | verdict | the gap, measured and discussed |\n|---|---|---|---|");
    for t in targets {
        let discussed = match (t.outcome, t.discussed_in) {
            (Outcome::Miss | Outcome::Unresolved, Some(section)) => section.link(),
            _ => String::new(),
        };
        let _ = writeln!(out, "| {} | {} | **{}** | {discussed} |", t.what, t.measured, t.verdict());
    }
}

/// "1 round", "3 rounds".
pub fn rounds(n: usize) -> String {
    if n == 1 { "1 round".into() } else { format!("{n} rounds") }
}

/// The whole document.
pub fn render(r: &Results, targets: &[Target], cx: &Context<'_>) -> String {
    let m = cx.machine;
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `scripts/bench.sh` on {} (do not edit by hand; run the script again). Every ratio pairs two figures \
         of the same round, then takes the median across {}; the order of the contenders is reversed every other \
         round. The machine is shared and noisy, so read ratios, not absolute times.\n",
        cx.date,
        rounds(cx.rounds)
    );
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "- CPU: {} ({} logical CPUs, `nproc`)", m.cpu, m.cpus);
    let _ = writeln!(out, "- {}; {}", m.kernel, m.rustc);
    let _ = writeln!(out, "- Node.js {}", m.node);
    method(&mut out);
    let _ = writeln!(out, "\n## Commands\n\n```sh\n{}\n```", cx.commands.trim_end());
    targets_table(&mut out, targets);
    let _ = writeln!(out, "\n## Chart\n\n![Ratios to each workload's baseline](benchmarks.svg)\n");
    let _ = writeln!(out, "## Time per operation\n");
    let _ = writeln!(
        out,
        "Contenders: `tokio` carries no context (the baseline); `ctxflow` is `VAR.scope` + `ctxflow::spawn` + `VAR.get()`; \
         `ctxflow_noop_hook` the same with a hook implementing every callback as a no-op registered; `ctxflow_runtime` plain \
         `tokio::spawn` on the automatic-propagation runtime; `task_local` is `tokio::task_local!` re-scoped by hand at each \
         spawn; `tracing` is a span per request with `Instrument`/`in_current_span` and `Span::current()` (a \
         `tracing_subscriber::Registry` is installed); `opentelemetry` is `with_context`/`with_current_context` and \
         `Context::current().get()`."
    );
    for g in TIME {
        group_table(&mut out, r, g);
    }
    if INSTR.iter().any(|g| !r.names(g.id).is_empty()) {
        let _ = writeln!(out, "\n## Instructions per operation\n");
        let _ = writeln!(
            out,
            "The synchronous operations again, and the requests workload, counted in instructions by valgrind \
             (`cargo run --release -p ctxflow-benches --bin instr -- probe`): independent of the machine's load, and \
             nearly of its processor (libc picks a few routines, such as `memcpy`, by processor), so they settle what the nanosecond figures above cannot on a busy machine. Instructions \
             are not time (a cache miss or an atomic costs more than an add), but a gap of tens of instructions is real."
        );
        for g in INSTR {
            group_table(&mut out, r, g);
        }
    }
    node_table(&mut out, r);
    memory(&mut out, r);
    if HTTP.iter().any(|g| !r.names(g.id).is_empty()) {
        let _ = writeln!(out, "\n## HTTP");
        for g in HTTP {
            group_table(&mut out, r, g);
        }
    }
    out
}
