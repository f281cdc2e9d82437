//! Request context across gRPC (tonic): `cargo run --example grpc`.
//!
//! A pricing service runs behind `ServerLayer`; 100 concurrent calls go out through a client
//! behind `ClientLayer`, each from inside its own request context, and each reply says what
//! the server saw, in its handler and in a task the handler spawned.

mod pricing;

use ctxflow_http::{REQUEST_ID, TRACE, TraceContext};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = pricing::serve().await?;
    let client = pricing::client(addr).await?;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..100 {
        let mut client = client.clone();
        let request = (
            TRACE.value(TraceContext::new_root(true)),
            REQUEST_ID.value(format!("quote-{i}").parse()?),
            pricing::TENANT.value(format!("tenant-{}", i % 7)),
        );
        calls.spawn(ctxflow::scope(request, async move {
            let sent = pricing::seen();
            let reply = client.quote(pricing::proto::QuoteRequest { sku: format!("sku-{i}") }).await?.into_inner();
            let received = [reply.request_id, reply.trace_id, reply.tenant];
            let in_child = [reply.child_request_id, reply.child_trace_id, reply.child_tenant];
            Ok::<_, tonic::Status>(sent == received && sent == in_child && reply.has_parent)
        }));
    }
    let (mut matched, mut total) = (0, 0);
    while let Some(call) = calls.join_next().await {
        total += 1;
        matched += usize::from(call??);
    }
    println!("gRPC calls {total}: server saw the caller's request id, trace and tenant in {matched}");
    if matched == total { Ok(()) } else { Err("context was lost or crossed".into()) }
}
