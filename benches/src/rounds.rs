//! Interleaving: the script runs the whole suite several times ("rounds") and alternates the
//! order of the contenders between rounds, so a slow drift in the load of a shared machine
//! favours no contender. Ratios are taken within a round, then their median across rounds.

/// The round number `scripts/bench.sh` passes in `CTXFLOW_BENCH_ROUND` (0 when run by hand).
pub fn round() -> u32 {
    std::env::var("CTXFLOW_BENCH_ROUND").ok().and_then(|r| r.parse().ok()).unwrap_or(0)
}

/// `items` in this round's order: as given on even rounds, reversed on odd ones.
///
/// ```
/// assert_eq!(ctxflow_benches::rounds::in_round_order(vec![1, 2, 3], 1), vec![3, 2, 1]);
/// assert_eq!(ctxflow_benches::rounds::in_round_order(vec![1, 2, 3], 2), vec![1, 2, 3]);
/// ```
pub fn in_round_order<T>(mut items: Vec<T>, round: u32) -> Vec<T> {
    if round % 2 == 1 {
        items.reverse();
    }
    items
}
