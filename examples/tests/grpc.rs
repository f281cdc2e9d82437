//! Context across gRPC with tonic, client and server, so that it keeps working as-is: 200
//! concurrent calls from their own contexts on a multi-thread runtime, every read checked in
//! the handler and in a task it spawned; and a call with malformed trace metadata still served,
//! in a new trace.

#[path = "../grpc/pricing.rs"]
mod pricing;

use ctxflow_http::{REQUEST_ID, TRACE, TraceContext};
use pricing::proto::QuoteRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_served_in_its_callers_context() {
    let addr = pricing::serve().await.unwrap();
    let client = pricing::client(addr).await.unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let mut client = client.clone();
        let request = (
            TRACE.value(TraceContext::new_root(true)),
            REQUEST_ID.value(format!("quote-{i}").parse().unwrap()),
            pricing::TENANT.value(format!("tenant-{i}")),
        );
        calls.spawn(ctxflow::scope(request, async move {
            let sent = pricing::seen();
            let reply = client.quote(QuoteRequest { sku: format!("sku-{i}") }).await.unwrap().into_inner();
            assert_eq!(reply.sku, format!("sku-{i}"));
            assert_eq!([reply.request_id, reply.trace_id, reply.tenant], sent, "call {i}: the handler's context");
            assert_eq!(
                [reply.child_request_id, reply.child_trace_id, reply.child_tenant],
                sent,
                "call {i}: a task the handler spawned"
            );
            assert!(reply.has_parent, "call {i}: the server continues the caller's trace");
            // The caller's own context is intact after the call.
            assert_eq!(pricing::seen(), sent);
        }));
    }
    let mut done = 0;
    while let Some(call) = calls.join_next().await {
        call.unwrap();
        done += 1;
    }
    assert_eq!(done, 200);
}

#[tokio::test]
async fn malformed_trace_metadata_starts_a_new_trace_and_the_call_is_served() {
    let addr = pricing::serve().await.unwrap();
    let mut client = pricing::client(addr).await.unwrap();
    let mut request = tonic::Request::new(QuoteRequest { sku: "sku".into() });
    request.metadata_mut().insert("traceparent", "00-not-a-trace".parse().unwrap());
    request.metadata_mut().insert("x-request-id", "from-metadata".parse().unwrap());
    // Outside any context: the client layer adds nothing, the metadata go as set.
    let reply = client.quote(request).await.unwrap().into_inner();
    assert_eq!(reply.request_id, "from-metadata");
    assert_eq!(reply.trace_id.len(), 32);
    assert!(!reply.has_parent, "a new trace, not the malformed one");
    assert_eq!(reply.tenant, "");
}
