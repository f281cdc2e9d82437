//! Times the task workloads with every contender interleaved, batch by batch
//! (`src/interleaved.rs`), and prints one JSON [`Record`](ctxflow_benches::record::Record) per
//! group and contender: the median batch, in nanoseconds per operation.
//!
//! `interleaved [seconds] [group...]`: every group if none is named (`spawn_join_ct`,
//! `awaits20_ct`, `awaits20_mt`, `requests10k_mt`), each timed for about `seconds` (15 by
//! default).
//! `scripts/bench.sh` runs it once a round, with the round in `CTXFLOW_BENCH_ROUND`.

use std::process::ExitCode;
use std::time::Duration;

use ctxflow_benches::interleaved::{CONTENDERS, GROUPS, group};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (seconds, names) = match args.first().map(|a| a.parse::<f64>()) {
        Some(Ok(s)) if s.is_finite() && s >= 0.0 => (s, &args[1..]),
        Some(Ok(_)) => return usage("seconds must be a number of at least 0"),
        _ => (15.0, &args[..]),
    };
    let groups: Vec<_> = if names.is_empty() {
        GROUPS.iter().collect()
    } else {
        match names.iter().map(|n| group(n)).collect::<Option<Vec<_>>>() {
            Some(groups) => groups,
            None => return usage("unknown group"),
        }
    };
    for g in groups {
        match g.time(CONTENDERS, Duration::from_secs_f64(seconds)) {
            Some(records) => records.iter().for_each(|r| r.print()),
            None => return usage("a contender could not be built"),
        }
    }
    ExitCode::SUCCESS
}

fn usage(why: &str) -> ExitCode {
    let groups: Vec<&str> = GROUPS.iter().map(|g| g.name).collect();
    eprintln!("interleaved: {why}\nusage: interleaved [seconds] [group...]; groups: {}", groups.join(" "));
    ExitCode::from(2)
}
