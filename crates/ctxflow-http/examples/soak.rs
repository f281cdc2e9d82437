//! The soak: `cargo run --release -p ctxflow-http --example soak -- [REQUESTS] [CONCURRENCY]`
//! (default 1 000 000 and 64; `scripts/soak.sh`). Requests through ctxflow-http's server and
//! client layers on an opted-in tokio runtime, with random cancellation and panics; prints the
//! rate, the wrong reads and the leaked contexts, resources and tasks, and fails if any is not 0.
//! The workload is `tests/soak_support/mod.rs`, shared with the CI-size test `tests/soak.rs`.

#[path = "../tests/soak_support/mod.rs"]
mod soak;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("a number"));
    let requests = args.next().unwrap_or(1_000_000);
    let concurrency = args.next().unwrap_or(64);
    let report = soak::run(requests, concurrency, 0x5eed);
    println!("{report}");
    let clean = report.wrong_reads == 0
        && report.unexpected == 0
        && (report.leaked_contexts, report.leaked_resources, report.leaked_tasks) == (0, 0, 0);
    if !clean {
        eprintln!("soak: FAILED");
        std::process::exit(1);
    }
    println!("soak: ok");
}
