//! The budgets' checks, on made-up figures and on figures of past runs.

use super::*;
use crate::record::Record;

/// `x / base` in three rounds, with these ratios.
fn ratios(values: [f64; 3]) -> Results {
    let records: Vec<Record> = values
        .iter()
        .zip(1..)
        .flat_map(|(&v, round)| {
            [("base", 100.0), ("x", 100.0 * v)].map(|(name, value)| Record {
                group: "g".into(),
                name: name.into(),
                value,
                unit: "ns".into(),
                round,
            })
        })
        .collect();
    Results::new(&records)
}

fn verdict(values: [f64; 3]) -> Outcome {
    ratio_at_most(&ratios(values), "x within 1.05x", "g", "x", "base", 1.05).outcome
}

#[test]
fn every_section_a_budget_points_to_is_a_heading_of_its_file() {
    // The sections `check` attaches, with or without figures to check.
    let sections = check(&Results::new(&[])).into_iter().filter_map(|t| t.discussed_in);
    for section in sections {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/").to_owned() + section.file;
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let headed = text.lines().any(|l| l.starts_with('#') && l.trim_start_matches('#').trim() == section.heading);
        assert!(headed, "{path} has no heading {:?}", section.heading);
    }
}

/// The HTTP service's figures in `group`, for rounds (numbered from 1) of (bare, ctxflow,
/// otel).
fn stack_records(group: &str, unit: &str, rounds: &[(f64, f64, f64)]) -> Vec<Record> {
    rounds
        .iter()
        .zip(1..)
        .flat_map(|(&(bare, ctxflow, otel), round)| {
            [("stack_bare", bare), ("stack_ctxflow", ctxflow), ("stack_otel", otel)].map(|(name, value)| Record {
                group: group.into(),
                name: name.into(),
                value,
                unit: unit.into(),
                round,
            })
        })
        .collect()
}

/// The verdict on the HTTP service's share, for rounds of (bare, ctxflow, otel) CPU times.
fn share_verdict(rounds: &[(f64, f64, f64)]) -> Outcome {
    let records = stack_records("stack_cpu_per_request", "ns", rounds);
    check(&Results::new(&records)).into_iter().find(|t| t.what == HTTP_SHARE).expect("the share's target").outcome
}

#[test]
fn the_http_share_is_taken_within_each_round() {
    assert_eq!(share_verdict(&[(100.0, 120.0, 200.0), (90.0, 110.0, 170.0), (110.0, 130.0, 230.0)]), Outcome::Pass);
    // One slow round of the ctxflow server: the medians taken apart (+5 854 against
    // +15 453 here) would say 38 %, a miss; the rounds say 27 %, 27 % and 180 %.
    let run = [(29_643.0, 35_497.0, 51_485.0), (26_596.0, 30_811.0, 42_049.0), (33_133.0, 46_895.0, 40_799.0)];
    assert_eq!(share_verdict(&run), Outcome::Unresolved);
    assert_eq!(share_verdict(&[(100.0, 150.0, 200.0), (100.0, 160.0, 200.0), (100.0, 150.0, 190.0)]), Outcome::Miss);
}

#[test]
fn the_http_service_is_judged_by_its_instructions_too() {
    // The counts of scripts/layer-instructions.sh --stack on 2026-12-06.
    let records = stack_records("instr_stack", "instructions", &[(66_249.0, 80_085.0, 123_002.0)]);
    let checked = check(&Results::new(&records));
    // Only the service's counts are in: the other rows counted in instructions are missing.
    let counted: Vec<&Target> =
        checked.iter().filter(|t| t.what == IN_INSTRUCTIONS && t.outcome != Outcome::Reported).collect();
    let [ratio, share] = counted.as_slice() else { panic!("two budgets counted in instructions") };
    assert!(ratio.measured.starts_with("1.209x"), "{}", ratio.measured);
    assert_eq!(ratio.outcome, Outcome::Miss);
    assert!(share.measured.starts_with("24%"), "{}", share.measured);
    assert_eq!(share.outcome, Outcome::Pass);
}

#[test]
fn each_requests10k_budget_is_judged_by_its_instructions_too() {
    // `instr probe requests10k` on 2026-12-07, but for the automatic runtime's (33 577), moved
    // apart from ctxflow's so that a row judging the wrong contender shows.
    let counts = [
        ("tokio", 23_998.0),
        ("ctxflow", 33_587.0),
        ("ctxflow_noop_hook", 41_424.0),
        ("ctxflow_runtime", 30_000.0),
        ("task_local", 26_870.0),
    ];
    let checked = check(&Results::new(&counted_records("instr_requests10k", &counts)));
    // In budget order: ctxflow (1.08x), the automatic runtime (1.15x), the no-op hook (1.12x).
    assert_eq!(
        judged_in_instructions(&checked),
        [("1.400x", Outcome::Miss), ("1.250x", Outcome::Miss), ("1.726x", Outcome::Miss)]
    );
    assert_eq!(reported_in_instructions(&checked), ["1.250x"], "ctxflow over task_local!, reported");
}

#[test]
fn the_twenty_awaits_budgets_are_judged_by_their_instructions_too() {
    // Made up so that each row's figure names the contenders it divides: a row judging the
    // wrong pair shows.
    let counts = [
        ("tokio", 25_000.0),
        ("ctxflow", 30_000.0),
        ("ctxflow_noop_hook", 33_000.0),
        ("ctxflow_runtime", 26_000.0),
        ("task_local", 28_000.0),
    ];
    let checked = check(&Results::new(&counted_records("instr_awaits20_mt", &counts)));
    // In budget order: the no-op hook over ctxflow (1.15x), the automatic runtime (1.05x).
    assert_eq!(judged_in_instructions(&checked), [("1.100x", Outcome::Pass), ("1.040x", Outcome::Pass)]);
    // Reported: ctxflow over plain tokio, then over task_local!.
    assert_eq!(reported_in_instructions(&checked), ["1.200x", "1.071x"]);
}

#[test]
fn the_http_service_reports_the_same_features_by_hand_and_ctxflow_over_them() {
    // Made up so that each row's figure names the contenders it divides.
    let counts =
        [("stack_bare", 60_000.0), ("stack_by_hand", 66_000.0), ("stack_ctxflow", 72_600.0), ("stack_otel", 120_000.0)];
    let checked = check(&Results::new(&counted_records("instr_stack", &counts)));
    // By hand over no context, then ctxflow over by hand.
    assert_eq!(reported_in_instructions(&checked), ["1.100x", "1.100x"]);
    // The budget itself is still judged against the service without context.
    assert_eq!(judged_in_instructions(&checked)[0], ("1.210x", Outcome::Miss));
}

/// One count per contender of `group`, as the probe records them.
fn counted_records(group: &str, counts: &[(&str, f64)]) -> Vec<Record> {
    let record = |&(name, value): &(&str, f64)| Record {
        group: group.into(),
        name: name.into(),
        value,
        unit: "instructions".into(),
        round: 0,
    };
    counts.iter().map(record).collect()
}

/// The figure and verdict of each budget judged in instructions, in budget order.
fn judged_in_instructions(checked: &[Target]) -> Vec<(&str, Outcome)> {
    checked
        .iter()
        .filter(|t| t.what == IN_INSTRUCTIONS && t.outcome != Outcome::Reported)
        .map(|t| (t.measured.as_str(), t.outcome))
        .collect()
}

/// The figures reported in instructions with no limit, in order, leaving out those the run
/// has no counts for.
fn reported_in_instructions(checked: &[Target]) -> Vec<&str> {
    checked
        .iter()
        .filter(|t| t.what == IN_INSTRUCTIONS && t.outcome == Outcome::Reported)
        .map(|t| t.measured.as_str())
        .filter(|m| !m.starts_with("not measured"))
        .collect()
}

#[test]
fn a_timed_ratio_is_judged_on_every_round() {
    assert_eq!(verdict([1.00, 1.02, 1.04]), Outcome::Pass);
    assert_eq!(verdict([1.06, 1.10, 1.30]), Outcome::Miss);
    assert_eq!(verdict([0.90, 1.01, 1.20]), Outcome::Unresolved, "median within, one round above");
    assert_eq!(verdict([1.00, 1.10, 1.20]), Outcome::Unresolved, "median above, one round within");
}
