//! Request context across a message queue: `cargo run --example messaging`.
//!
//! Starts a NATS server of its own on loopback (`scripts/nats-server.sh` installs one), then
//! 8 producers publish 1 000 orders, each from inside its own request context, and a consumer
//! handles every order inside the context its message carried: trace, request id and the
//! `tenant` baggage member bound to `TENANT`. Every read is checked.

mod broker;
mod nats_headers;
mod orders;

#[tokio::main]
async fn main() -> Result<(), String> {
    let broker = broker::Broker::start()?;
    println!("nats-server on {}", broker.url);
    let report = orders::run(&broker.url, 8, 125).await?;
    println!(
        "published {}  handled {}  reads checked {}  with a malformed header {}  duplicates {}  mismatches {}",
        report.published,
        report.handled,
        report.reads_checked,
        report.malformed_handled,
        report.duplicates,
        report.mismatches.len()
    );
    for mismatch in report.mismatches.iter().take(10) {
        println!("  {mismatch}");
    }
    if report.mismatches.is_empty() && report.duplicates == 0 {
        Ok(())
    } else {
        Err("context was lost or crossed".into())
    }
}
