//! The async workloads, written once for every [`Contender`].
//!
//! They mirror what a server does with a request context: set it once per request, read it
//! at every step, hand it to the tasks the request spawns. Each returns the sum of what it
//! read, so a test can check that the contender really carried the value (and the optimizer
//! cannot drop the reads).

use std::future::Future;

use tokio::task::yield_now;

use crate::Contender;

/// Awaits in the "task of 20 awaits" and "10 000 requests" workloads.
pub const AWAITS: u64 = 20;
/// Concurrent requests in the "10 000 requests" workload.
pub const REQUESTS: u64 = 10_000;
/// Children each request spawns.
pub const CHILDREN: u64 = 3;

/// `n` awaits that really go back to the scheduler, reading the value after each.
pub async fn awaits<C: Contender>(n: u64) -> u64 {
    let mut sum = 0;
    for _ in 0..n {
        yield_now().await;
        sum += C::read();
    }
    sum
}

/// Spawns a task (inheriting the value) that reads the value once, and joins it.
pub async fn spawn_join<C: Contender>() -> u64 {
    C::spawn(async { C::read() }).await.unwrap_or(0)
}

/// Spawns a task of [`AWAITS`] awaits, each followed by a read, and joins it.
pub async fn spawn_awaits<C: Contender>() -> u64 {
    C::spawn(awaits::<C>(AWAITS)).await.unwrap_or(0)
}

/// One request: [`AWAITS`] awaits with a read each, then [`CHILDREN`] spawned children that
/// each yield once and read, joined.
pub async fn request<C: Contender>() -> u64 {
    let mut sum = awaits::<C>(AWAITS).await;
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            C::spawn(async {
                yield_now().await;
                C::read()
            })
        })
        .collect();
    for child in children {
        sum += child.await.unwrap_or(0);
    }
    sum
}

/// `n` concurrent requests, request `i` running with value `i + 1`, all spawned and joined.
pub async fn requests<C: Contender>(n: u64) -> u64 {
    let handles: Vec<_> = (1..=n).map(|id| C::spawn(C::scope(id, request::<C>()))).collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.unwrap_or(0);
    }
    sum
}

/// A workload, generic over the contender, so one benchmark definition serves them all.
pub trait Workload: 'static {
    /// One run of the workload with contender `C`.
    fn run<C: Contender>() -> impl Future<Output = u64> + Send;
}

/// [`spawn_join`].
pub struct SpawnJoin;

impl Workload for SpawnJoin {
    fn run<C: Contender>() -> impl Future<Output = u64> + Send {
        spawn_join::<C>()
    }
}

/// [`spawn_awaits`].
pub struct SpawnAwaits;

impl Workload for SpawnAwaits {
    fn run<C: Contender>() -> impl Future<Output = u64> + Send {
        spawn_awaits::<C>()
    }
}

/// [`requests`] of [`REQUESTS`].
pub struct Requests;

impl Workload for Requests {
    fn run<C: Contender>() -> impl Future<Output = u64> + Send {
        requests::<C>(REQUESTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ctxflow, Opentelemetry, TaskLocal, Tracing, runtimes};

    /// Every read of request `id` must see `id`: each request reads it AWAITS + CHILDREN times.
    fn expected(n: u64) -> u64 {
        (1..=n).map(|id| id * (AWAITS + CHILDREN)).sum()
    }

    fn check<C: Contender>() {
        let rt = runtimes::multi_thread();
        let n = 500;
        assert_eq!(rt.block_on(rt.spawn(requests::<C>(n))).unwrap(), expected(n), "{}", C::NAME);
        let one = rt.block_on(rt.spawn(C::scope(5, spawn_awaits::<C>()))).unwrap();
        assert_eq!(one, 5 * AWAITS, "{}", C::NAME);
    }

    #[test]
    fn every_contender_carries_each_requests_value_into_its_children() {
        check::<Ctxflow>();
        check::<TaskLocal>();
        check::<Opentelemetry>();
    }

    #[test]
    fn plain_tokio_spawn_inherits_on_the_propagating_runtime() {
        let rt = runtimes::propagating(runtimes::multi_thread_builder());
        let n = 500;
        assert_eq!(rt.block_on(requests::<crate::Automatic>(n)), expected(n));
    }

    #[test]
    fn tracing_reads_the_requests_span() {
        runtimes::install_tracing_registry();
        let rt = runtimes::current_thread();
        let (outer, inner) = rt.block_on(Tracing::scope(1, async {
            let outer = Tracing::read();
            (outer, Tracing::spawn(async { Tracing::read() }).await.unwrap())
        }));
        assert_ne!(outer, 0);
        assert_eq!(outer, inner);
    }
}
