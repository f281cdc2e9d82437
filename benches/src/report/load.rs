//! Reading a results directory back: criterion's estimates and the probes' JSON lines.
//!
//! Layout written by `scripts/bench.sh`:
//! `<dir>/round-<n>/criterion/<group>/<bench>/new/{benchmark,estimates}.json` and any
//! `<dir>/**/*.jsonl` (memory probe, Node scripts, HTTP probe).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::record::{Record, parse_lines};

#[derive(Deserialize)]
struct BenchmarkId {
    group_id: String,
    function_id: Option<String>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

/// Every file under `dir`, recursively, in a stable order.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The round a path belongs to (`round-<n>` somewhere in it), if any.
fn round_of(path: &Path) -> Option<u32> {
    path.components().find_map(|c| c.as_os_str().to_str()?.strip_prefix("round-")?.parse().ok())
}

/// One criterion benchmark's median, from its `new/benchmark.json` beside `estimates.json`.
fn criterion_record(estimates: &Path) -> Option<Record> {
    let id: BenchmarkId =
        serde_json::from_str(&fs::read_to_string(estimates.with_file_name("benchmark.json")).ok()?).ok()?;
    let est: Estimates = serde_json::from_str(&fs::read_to_string(estimates).ok()?).ok()?;
    Some(Record {
        group: id.group_id,
        name: id.function_id.unwrap_or_default(),
        value: est.median.point_estimate,
        unit: "ns".into(),
        round: round_of(estimates).unwrap_or(0),
    })
}

/// Every record found under `dir`.
pub fn load(dir: &Path) -> Vec<Record> {
    let mut records = Vec::new();
    for path in walk(dir) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let in_new = path.parent().and_then(|p| p.file_name()).is_some_and(|p| p == "new");
        if name == "estimates.json" && in_new {
            records.extend(criterion_record(&path));
        } else if name.ends_with(".jsonl") {
            let text = fs::read_to_string(&path).unwrap_or_default();
            records.extend(parse_lines(&text));
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_estimates_and_json_lines_with_their_rounds() {
        let dir = std::env::temp_dir().join(format!("ctxflow-bench-load-{}", std::process::id()));
        let bench = dir.join("round-2/criterion/read/ctxflow/new");
        fs::create_dir_all(&bench).unwrap();
        fs::write(bench.join("benchmark.json"), r#"{"group_id":"read","function_id":"ctxflow"}"#).unwrap();
        fs::write(bench.join("estimates.json"), r#"{"median":{"point_estimate":1.25},"mean":{"point_estimate":9}}"#)
            .unwrap();
        fs::write(
            dir.join("round-2/node.jsonl"),
            "{\"group\":\"g\",\"name\":\"als\",\"value\":3,\"unit\":\"ns\",\"round\":2}\n",
        )
        .unwrap();
        let mut records = load(&dir);
        records.sort_by(|a, b| a.group.cmp(&b.group));
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].group.as_str(), records[0].value, records[0].round), ("g", 3.0, 2));
        assert_eq!((records[1].name.as_str(), records[1].value, records[1].round), ("ctxflow", 1.25, 2));
    }
}
