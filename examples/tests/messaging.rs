//! Context across a real NATS broker on loopback: 8 concurrent producers publish 1 200 orders
//! from inside request contexts, the consumer handles each inside the context its message
//! carried, and every read (on arrival, after an await, in a spawned task) is checked. One
//! message in five carries a malformed `traceparent` or baggage member and must still be
//! handled exactly once. Needs `nats-server` (`scripts/nats-server.sh`; `scripts/test.sh`
//! runs it first).

#[path = "../messaging/broker.rs"]
mod broker;
#[path = "../messaging/nats_headers.rs"]
mod nats_headers;
#[path = "../messaging/orders.rs"]
mod orders;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_is_handled_once_in_the_context_it_was_published_from() {
    let broker = broker::Broker::start().unwrap();
    let report = orders::run(&broker.url, 8, 150).await.unwrap();
    let first: Vec<_> = report.mismatches.iter().take(10).collect();
    assert!(report.mismatches.is_empty(), "{} wrong reads, first {first:#?}", report.mismatches.len());
    assert_eq!((report.published, report.handled, report.duplicates), (1200, 1200, 0));
    assert_eq!(report.reads_checked, 1200 * 9, "three reads at each of three points per order");
    assert_eq!(report.malformed_handled, 240, "every message with a malformed header was handled");
}
