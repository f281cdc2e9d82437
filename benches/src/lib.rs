//! Shared workloads for the benchmarks (see benches/).
