//! The soak at CI size: 20 000 requests through the server and client layers on an opted-in
//! runtime with random cancellation and panics (see `soak_support/mod.rs`); zero wrong reads and no
//! leaked frame, resource or task. `scripts/soak.sh` runs the 1 000 000-request version.
//! (One test in this binary: the counters it reads are process-wide.)

mod soak_support;
use soak_support as soak;

#[test]
fn twenty_thousand_requests_with_cancellation_and_panics_read_only_their_own_context_and_leak_nothing() {
    let report = soak::run(20_000, 32, 0x5eed);
    println!("{report}");
    assert_eq!(report.wrong_reads, 0, "{report}");
    assert!(report.checks >= 20_000 * 7, "every request was checked: {report}");
    assert_eq!(report.answered + report.failed_as_intended + report.unexpected, report.requests);
    assert_eq!(report.unexpected, 0, "{report}");
    assert_eq!((report.leaked_contexts, report.leaked_resources, report.leaked_tasks), (0, 0, 0), "{report}");
}
