//! One measured figure, as a JSON line: what the memory probe, the HTTP probe and the Node
//! scripts print, and what the report reads back beside criterion's own estimates.

use serde::{Deserialize, Serialize};

/// A measured figure: `value` in `unit` for contender `name` in workload `group`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The workload (e.g. `"mem_task"`, `"node_awaits20"`).
    pub group: String,
    /// The contender (e.g. `"tokio"`, `"ctxflow"`, `"als"`).
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit: `"ns"`, `"bytes"`, `"allocs"`, `"req/s"`, `"us_cpu/req"`.
    pub unit: String,
    /// The round of `scripts/bench.sh` that measured it (0 when run by hand).
    #[serde(default)]
    pub round: u32,
}

impl Record {
    /// A record of the current round (see [`crate::rounds::round`]).
    pub fn new(group: &str, name: &str, value: f64, unit: &str) -> Record {
        Record { group: group.into(), name: name.into(), value, unit: unit.into(), round: crate::rounds::round() }
    }

    /// Prints the record as one JSON line on stdout.
    pub fn print(&self) {
        println!("{}", serde_json::to_string(self).expect("a record serializes"));
    }
}

/// Reads every record in a JSON-lines text, skipping lines that are not records.
///
/// ```
/// let text = "{\"group\":\"g\",\"name\":\"n\",\"value\":1.5,\"unit\":\"ns\"}\nnoise\n";
/// let records = ctxflow_benches::record::parse_lines(text);
/// assert_eq!(records.len(), 1);
/// assert_eq!(records[0].value, 1.5);
/// ```
pub fn parse_lines(text: &str) -> Vec<Record> {
    text.lines().filter_map(|line| serde_json::from_str(line.trim()).ok()).collect()
}
