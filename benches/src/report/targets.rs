//! The project's cost budgets, checked against the figures of one run.
//!
//! Every check compares figures of the same run (ratios within a round, or allocation and
//! byte counts, which do not depend on load), never an absolute time.

use super::doc_section::DocSection;
use super::stats::{Results, Summary};

/// One target and what this run measured for it.
pub struct Target {
    /// The target, in words.
    pub what: &'static str,
    /// The figure measured, in words ("not measured: ..." when absent).
    pub measured: String,
    /// Whether it holds.
    pub outcome: Outcome,
    /// Where the docs measure the gap and say what closing it would take, for the targets
    /// that have been missed.
    pub discussed_in: Option<DocSection>,
}

/// What a run says of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Holds (for a timed ratio: in every round).
    Pass,
    /// Does not hold (for a timed ratio: in no round).
    Miss,
    /// A timed ratio whose rounds fall on both sides of the limit: this run cannot tell.
    Unresolved,
    /// Not measured, or a figure reported without a limit.
    Reported,
}

impl Outcome {
    fn of(holds: bool) -> Outcome {
        if holds { Outcome::Pass } else { Outcome::Miss }
    }
}

const fn section(file: &'static str, heading: &'static str) -> DocSection {
    DocSection { file, heading }
}

/// The sections the missed budgets point to.
const SAFE_CORE: DocSection = section("core-costs.md", "Today: the safe core");
const COUNTED: DocSection = section("core-costs.md", "Counted, not timed");
const TIME_GOES: DocSection = section("core-costs.md", "Where the time goes: one mechanism at a time (2026-12-06)");
const HOOK_COST: DocSection = section("core-costs.md", "What a registered hook costs (2026-12-06)");
const AUTOMATIC: DocSection = section("automatic-propagation.md", "Cost");
const LAYER: DocSection = section("http.md", "Cost of the server layer");
const SERVICE: DocSection = section("http.md", "The service users run, next to tracing + OpenTelemetry");

impl Target {
    /// The same target, pointing at the docs that discuss it.
    fn discussed_in(self, section: DocSection) -> Target {
        Target { discussed_in: Some(section), ..self }
    }

    /// `PASS`, `MISS`, `UNRESOLVED` or `N/A`.
    pub fn verdict(&self) -> &'static str {
        match self.outcome {
            Outcome::Pass => "PASS",
            Outcome::Miss => "MISS",
            Outcome::Unresolved => "UNRESOLVED",
            Outcome::Reported => "N/A",
        }
    }
}

fn range(s: Summary, unit: &str) -> String {
    if s.count > 1 {
        format!("{:.3}{unit} (rounds: {:.3}-{:.3})", s.median, s.min, s.max)
    } else {
        format!("{:.3}{unit}", s.median)
    }
}

/// The budget on what ctxflow adds to the HTTP service, beside tracing + OpenTelemetry.
const HTTP_SHARE: &str = "HTTP service: ctxflow adds at most a third of what tracing + OpenTelemetry add";

/// The row under each timed budget of the workloads: the same budget, judged on instructions.
const IN_INSTRUCTIONS: &str = "the same, in user-space instructions (valgrind)";

/// [`HTTP_SHARE`] in `group` (figures in `unit`): what ctxflow adds to the service over what
/// tracing + OpenTelemetry add, round by round.
fn added_share(r: &Results, what: &'static str, group: &str, unit: &str) -> Target {
    let Some(s) = r.added_share(group, "stack_ctxflow", "stack_otel", "stack_bare") else {
        return missing(what, group);
    };
    let rounds =
        if s.count > 1 { format!(" (rounds: {:.0}%-{:.0}%)", 100.0 * s.min, 100.0 * s.max) } else { String::new() };
    let added = |name: &str| r.difference(group, name, "stack_bare").map_or(f64::NAN, |s| s.median);
    Target {
        what,
        measured: format!(
            "{:.0}%{rounds}; medians {:+.0} {unit} against {:+.0} {unit} per request",
            100.0 * s.median,
            added("stack_ctxflow"),
            added("stack_otel")
        ),
        outcome: within(s, 1.0 / 3.0),
        discussed_in: None,
    }
}

/// Whether figures taken round by round are at most `limit`. On a shared machine one round can
/// land on either side of a limit: figures whose rounds straddle it are reported as unresolved
/// rather than judged by their median.
fn within(s: Summary, limit: f64) -> Outcome {
    if s.count > 1 && s.min <= limit && s.max > limit { Outcome::Unresolved } else { Outcome::of(s.median <= limit) }
}

/// A ratio target: `group`'s `name / base` at most `limit`.
fn ratio_at_most(r: &Results, what: &'static str, group: &str, name: &str, base: &str, limit: f64) -> Target {
    match r.ratio(group, name, base) {
        Some(s) => Target { what, measured: range(s, "x"), outcome: within(s, limit), discussed_in: None },
        None => missing(what, &format!("{group}: {name} or {base}")),
    }
}

fn missing(what: &'static str, which: &str) -> Target {
    Target {
        what,
        measured: format!("not measured ({which} absent from this run)"),
        outcome: Outcome::Reported,
        discussed_in: None,
    }
}

/// A count target: figure `group`/`name` at most `limit`.
fn count_at_most(r: &Results, what: &'static str, group: &str, name: &str, limit: f64) -> Target {
    match r.summary(group, name) {
        Some(s) => Target {
            what,
            measured: format!("{:.1} {}", s.median, r.unit(group)),
            outcome: Outcome::of(s.median <= limit),
            discussed_in: None,
        },
        None => missing(what, &format!("{group}: {name}")),
    }
}

fn all_zero(r: &Results, what: &'static str, names: &[&str]) -> Target {
    let figures: Option<Vec<(String, f64)>> =
        names.iter().map(|n| Some((n.to_string(), r.summary("allocs", n)?.median))).collect();
    match figures {
        Some(f) => Target {
            what,
            measured: f.iter().map(|(n, v)| format!("{n}: {v}")).collect::<Vec<_>>().join(", "),
            outcome: Outcome::of(f.iter().all(|(_, v)| *v == 0.0)),
            discussed_in: None,
        },
        None => missing(what, "allocation counts"),
    }
}

/// ctxflow's per-poll enter/exit (over a bare poll) against task_local's, in `group`.
fn poll_overhead(r: &Results, group: &str, unit: &str) -> Target {
    let what = if unit == "ns" {
        "a scope's per-poll enter/exit costs no more than task_local!'s"
    } else {
        "the same, in instructions (valgrind)"
    };
    let (ours, theirs) = (r.difference(group, "ctxflow", "tokio"), r.difference(group, "task_local", "tokio"));
    // Judged by the gap within each round, as ratios are; the two medians are shown.
    match (ours, theirs, r.difference(group, "ctxflow", "task_local")) {
        (Some(ours), Some(theirs), Some(gap)) => Target {
            what,
            measured: format!("ctxflow +{:.2} {unit}, task_local +{:.2} {unit} per poll", ours.median, theirs.median),
            outcome: within(gap, 0.0),
            discussed_in: None,
        },
        _ => missing(what, group),
    }
}

/// ctxflow's scope set-up against task_local's plus one allocation+free, in `setup` and
/// `read` groups measured in `unit`.
fn setup_cost(r: &Results, setup: &str, read: &str, unit: &str) -> Target {
    let what = if unit == "ns" {
        "setting up a scope costs no more than task_local!'s plus one allocation"
    } else {
        "the same, in instructions (valgrind)"
    };
    let extra = r.difference(setup, "ctxflow", "task_local");
    let alloc = r.summary(read, "box_alloc_free");
    match (extra, alloc) {
        (Some(extra), Some(alloc)) => Target {
            what,
            measured: format!(
                "ctxflow is {:+.1} {unit} over task_local; one allocation+free is {:.1} {unit}",
                extra.median, alloc.median
            ),
            outcome: Outcome::of(extra.median <= alloc.median),
            discussed_in: None,
        },
        _ => missing(what, setup),
    }
}

/// The layer's own time per request (timed alone, without a server) as a share of the bare
/// axum handler's CPU time per request: an estimate of the HTTP target that the noise of an
/// end-to-end run on a shared machine cannot blur.
fn layer_share(r: &Results) -> Target {
    let what = "the same, estimated: the layer alone (timed without a server) over the bare handler's CPU per request, at most 1%";
    match (r.difference("http_layer", "ctxflow_layer", "passthrough"), r.summary("http_cpu_per_request", "axum")) {
        (Some(layer), Some(request)) => {
            let share = layer.median / request.median;
            Target {
                what,
                measured: format!(
                    "{:.1}% ({:.0} ns of {:.1} µs per request)",
                    share * 100.0,
                    layer.median,
                    request.median / 1000.0
                ),
                outcome: Outcome::of(share <= 0.01),
                discussed_in: None,
            }
        }
        _ => missing(what, "http_layer or http_cpu_per_request"),
    }
}

/// A ratio budget judged twice: in time, on `timed`'s figures, then in instructions, on
/// `counted`'s: a count that the machine's load does not change, and its processor hardly does.
fn timed_and_counted(
    r: &Results,
    what: &'static str,
    (timed, counted): (&str, &str),
    (name, base): (&str, &str),
    limit: f64,
    doc: DocSection,
) -> [Target; 2] {
    [
        ratio_at_most(r, what, timed, name, base, limit).discussed_in(doc),
        ratio_at_most(r, IN_INSTRUCTIONS, counted, name, base, limit).discussed_in(doc),
    ]
}

/// `name` over `base` in `group`, reported with no limit.
fn reported_ratio(r: &Results, what: &'static str, group: &str, (name, base): (&str, &str)) -> Target {
    Target { outcome: Outcome::Reported, ..ratio_at_most(r, what, group, name, base, f64::INFINITY) }
}

/// `name` over `base`, timed (in `timed`) and counted (in `counted`), reported with no limit.
/// For what the budgets against a bare baseline cannot show apart: what the same features cost
/// done by hand (`task_local!` re-scoped at each spawn; the HTTP service's ids passed as
/// arguments), and what ctxflow costs beyond that.
fn reported_pair(r: &Results, what: &'static str, (timed, counted): (&str, &str), pair: (&str, &str)) -> [Target; 2] {
    [reported_ratio(r, what, timed, pair), reported_ratio(r, IN_INSTRUCTIONS, counted, pair)]
}

/// ctxflow over `task_local!` (see [`reported_pair`]).
const OVER_TASK_LOCAL: &str = "the same, ctxflow over task_local! (reported, no limit)";

/// The budgets on the workloads users run: 10 000 concurrent requests, and the HTTP service
/// with logs, a spawn and a downstream call.
fn workload_budgets(r: &Results) -> Vec<Target> {
    const REQUESTS: (&str, &str) = ("requests10k_mt", "instr_requests10k");
    let requests = |what, name, limit, doc| timed_and_counted(r, what, REQUESTS, (name, "tokio"), limit, doc);
    let mut budgets = Vec::new();
    budgets.extend(requests("requests10k: ctxflow within 1.08x of plain tokio", "ctxflow", 1.08, TIME_GOES));
    budgets.extend(reported_pair(r, OVER_TASK_LOCAL, REQUESTS, ("ctxflow", "task_local")));
    budgets.extend(requests("requests10k: the automatic runtime within 1.15x", "ctxflow_runtime", 1.15, AUTOMATIC));
    budgets.extend(requests(
        "requests10k: ctxflow with a registered no-op hook within 1.12x",
        "ctxflow_noop_hook",
        1.12,
        HOOK_COST,
    ));
    const STACK: (&str, &str) = ("stack_cpu_per_request", "instr_stack");
    budgets.extend(timed_and_counted(
        r,
        "HTTP service: ctxflow's CPU per request within 1.03x of the same service without context",
        STACK,
        ("stack_ctxflow", "stack_bare"),
        1.03,
        SERVICE,
    ));
    budgets.extend(reported_pair(
        r,
        "the same features by hand, with no context library, over the service without context (reported, no limit)",
        STACK,
        ("stack_by_hand", "stack_bare"),
    ));
    budgets.extend(reported_pair(
        r,
        "ctxflow over the same features by hand (reported, no limit)",
        STACK,
        ("stack_ctxflow", "stack_by_hand"),
    ));
    budgets.extend([
        added_share(r, HTTP_SHARE, "stack_cpu_per_request", "ns").discussed_in(SERVICE),
        added_share(r, IN_INSTRUCTIONS, "instr_stack", "instructions").discussed_in(SERVICE),
    ]);
    budgets
}

/// `get`/`with` against a plain `thread_local!` read.
fn read_cost(r: &Results, name: &str, what: &'static str) -> Target {
    ratio_at_most(r, what, "read", name, "thread_local", 2.0).discussed_in(SAFE_CORE)
}

/// Every budget, with this run's figures.
pub fn check(r: &Results) -> Vec<Target> {
    let mut t = vec![
        read_cost(r, "ctxflow", "get on a set variable within 2x of a thread_local! read"),
        read_cost(r, "ctxflow_with", "with on a set variable within 2x of a thread_local! read"),
        ratio_at_most(r, "the same for get, in instructions (valgrind)", "instr_read", "ctxflow", "thread_local", 2.0)
            .discussed_in(SAFE_CORE),
        all_zero(r, "get/with allocate nothing", &["ctxflow_get", "ctxflow_with"]),
        poll_overhead(r, "poll", "ns").discussed_in(TIME_GOES),
        poll_overhead(r, "instr_poll", "instructions").discussed_in(TIME_GOES),
        setup_cost(r, "scope_setup", "read", "ns").discussed_in(SAFE_CORE),
        setup_cost(r, "instr_scope_setup", "instr_read", "instructions").discussed_in(SAFE_CORE),
        count_at_most(r, "setting up a scope makes at most one allocation", "allocs", "ctxflow_scope_setup", 1.0)
            .discussed_in(SAFE_CORE),
        all_zero(r, "an empty context allocates nothing", &["ctxflow_capture_empty", "ctxflow_empty_run"]),
        ratio_at_most(
            r,
            "ctxflow::spawn + join within 1.05x of tokio::spawn",
            "spawn_join_ct",
            "ctxflow",
            "tokio",
            1.05,
        )
        .discussed_in(SAFE_CORE),
        ratio_at_most(
            r,
            "spawn + 20 awaits with a read each, current-thread: within 1.03x",
            "awaits20_ct",
            "ctxflow",
            "tokio",
            1.03,
        )
        .discussed_in(COUNTED),
    ];
    const AWAITS20_MT: (&str, &str) = ("awaits20_mt", "instr_awaits20_mt");
    t.extend([
        reported_ratio(r, "the same, multi-thread (reported, no limit)", AWAITS20_MT.0, ("ctxflow", "tokio")),
        reported_ratio(r, IN_INSTRUCTIONS, AWAITS20_MT.1, ("ctxflow", "tokio")),
    ]);
    t.extend(reported_pair(r, OVER_TASK_LOCAL, AWAITS20_MT, ("ctxflow", "task_local")));
    t.extend([
        count_at_most(
            r,
            "at most 24 bytes added per spawned task beyond tokio's own, averaged across future sizes",
            "mem_task_added_sweep",
            "ctxflow",
            24.0,
        ),
        count_at_most(
            r,
            "automatic runtime: at most 32 bytes per live task beyond tokio's own, averaged across counts of live tasks",
            "mem_task_added_sweep",
            "ctxflow_runtime",
            32.0,
        )
        .discussed_in(AUTOMATIC),
    ]);
    t.extend(timed_and_counted(
        r,
        "a registered no-op hook: spawn + 20 awaits, multi-thread, within 1.15x",
        AWAITS20_MT,
        ("ctxflow_noop_hook", "ctxflow"),
        1.15,
        HOOK_COST,
    ));
    t.push(count_at_most(
        r,
        "at most 24 bytes per resource beyond tokio's own, ids and hook included",
        "mem_task_added_sweep",
        "ctxflow_noop_hook",
        24.0,
    ));
    t.extend(timed_and_counted(
        r,
        "automatic-propagation runtime: spawn + 20 awaits, multi-thread, within 1.05x",
        AWAITS20_MT,
        ("ctxflow_runtime", "tokio"),
        1.05,
        AUTOMATIC,
    ));
    t.extend([
        count_at_most(
            r,
            "no memory growth after tasks end on the automatic runtime (bytes per ended task)",
            "mem_after_end",
            "ctxflow_runtime",
            0.0,
        ),
        ratio_at_most(
            r,
            "HTTP server layer: CPU per request within 1.01x of the bare axum handler",
            "http_cpu_per_request",
            "ctxflow_layer",
            "axum",
            1.01,
        )
        .discussed_in(LAYER),
    ]);
    t.push(reported_ratio(
        r,
        "the same against axum with a pass-through tower layer (reported: what ctxflow adds beyond any layer)",
        "http_cpu_per_request",
        ("ctxflow_layer", "noop_layer"),
    ));
    t.push(layer_share(r).discussed_in(LAYER));
    t.extend(workload_budgets(r));
    for (group, unit) in [("http_layer", "ns"), ("instr_http_layer", "instructions")] {
        let what = if unit == "ns" {
            "the layer alone, per request (reported: its own cost, without any server around it)"
        } else {
            "the same, in instructions (valgrind)"
        };
        t.push(match r.difference(group, "ctxflow_layer", "passthrough") {
            Some(d) => Target {
                what,
                measured: format!("{:+.1} {unit} per request", d.median),
                outcome: Outcome::Reported,
                discussed_in: None,
            },
            None => missing(what, group),
        });
    }
    t
}

#[cfg(test)]
mod tests;
