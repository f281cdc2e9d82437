//! The workloads and contenders that every benchmark in this package shares.
//!
//! Each contender (plain tokio, ctxflow, `tokio::task_local!`, `tracing`, `opentelemetry`) is
//! one implementation of [`Contender`], and every workload is written once, generically, so a
//! ratio between two contenders measures the context library and nothing else: the same
//! futures, the same awaits, the same spawns, the same runtime. `scripts/bench.sh` runs the
//! criterion suite of synchronous costs (`benches/micro.rs`), the task workloads interleaved
//! (`src/bin/interleaved.rs`), the instruction, memory and HTTP probes (`src/bin/`) and the
//! Node scripts (`node/`), then `src/bin/report.rs` writes docs/benchmarks.md.

pub mod by_name;
pub mod child_server;
pub mod contenders;
pub mod counted_tasks;
pub mod hook;
pub mod http_requests;
pub mod interleaved;
pub mod log_events;
pub mod polling;
pub mod record;
pub mod report;
pub mod rounds;
pub mod runtimes;
pub mod service_stack;
pub mod sync_ops;
pub mod workloads;

pub use contenders::{Automatic, Contender, Ctxflow, Opentelemetry, Plain, TaskLocal, Tracing};
