//! The report: docs/benchmarks.md and docs/benchmarks.svg from a results directory, and the
//! list of the project's cost budgets with PASS, MISS or UNRESOLVED.

pub mod doc_section;
pub mod groups;
pub mod load;
pub mod machine;
pub mod markdown;
pub mod stats;
pub mod svg;
pub mod targets;
