//! Property test: random programs of scopes, writes, snapshots, spawns, yields and panics, every
//! read checked against a reference model (`model_support`), with no hook registered.

mod model_support;

use model_support::{Spawner, check_async, check_threaded, op};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn async_programs_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        check_async(ops, Spawner::Ctxflow);
    }

    #[cfg(all(feature = "runtime", tokio_unstable))]
    #[test]
    fn plain_tasks_on_a_propagating_runtime_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        check_async(ops, Spawner::Tokio);
    }

    #[test]
    fn local_tasks_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        check_async(ops, Spawner::Local);
    }

    #[test]
    fn threaded_programs_match_the_model(ops in prop::collection::vec(op(), 1..12)) {
        check_threaded(ops);
    }
}
