//! Orders over NATS: concurrent producers publish from inside request contexts, one consumer
//! handles each message in the context the message carried, and every read the handler makes
//! is checked against what its producer sent. Some messages carry a malformed header on
//! purpose; they must still be handled, in what remains of their context.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::{HeaderMap, Message};
use ctxflow::ContextVar;
use ctxflow_http::{Baggage, ExtractOptions, IncomingContext, REQUEST_ID, TRACE, TraceContext, inject_message};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::nats_headers::NatsHeaders;

/// Crosses the broker as the baggage member `tenant`.
pub static TENANT: ContextVar<String> = ContextVar::new("tenant");

const SUBJECT: &str = "orders";

/// What a producer did to a message's headers before ctxflow wrote the rest.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Clean,
    /// A `traceparent` no parser accepts: the consumer starts a new trace.
    BadTraceparent,
    /// A baggage list with one broken member: the consumer keeps the others.
    BadBaggageMember,
}

impl Shape {
    fn of(seq: usize) -> Shape {
        match seq % 10 {
            3 => Shape::BadTraceparent,
            7 => Shape::BadBaggageMember,
            _ => Shape::Clean,
        }
    }
}

/// What one run saw.
#[derive(Debug, Default)]
pub struct Report {
    pub published: usize,
    pub handled: usize,
    pub reads_checked: usize,
    pub malformed_handled: usize,
    pub mismatches: Vec<String>,
    pub duplicates: usize,
}

/// Publishes `producers * per_producer` orders and waits until each is handled once.
pub async fn run(url: &str, producers: usize, per_producer: usize) -> Result<Report, String> {
    Baggage::export(&TENANT, "tenant").map_err(|e| e.to_string())?;
    let total = producers * per_producer;
    let consumer = async_nats::connect(url).await.map_err(|e| e.to_string())?;
    let mut subscription = consumer.subscribe(SUBJECT).await.map_err(|e| e.to_string())?;
    // The subscription is registered with the server before anything is published.
    consumer.flush().await.map_err(|e| e.to_string())?;

    let (results, mut outcomes) = mpsc::unbounded_channel();
    let consuming = tokio::spawn(async move {
        let options = ExtractOptions::default();
        while let Some(message) = subscription.next().await {
            let incoming = match &message.headers {
                Some(headers) => IncomingContext::from_message(&NatsHeaders(headers), &options),
                None => IncomingContext::from_message(&NatsHeaders(HeaderMap::new()), &options),
            };
            let results = results.clone();
            // Each message in its own task and its own context, as a request is.
            tokio::spawn(ctxflow::scope(incoming.into_bindings(), async move {
                let _ = results.send(handle(message).await);
            }));
        }
    });

    let publisher = async_nats::connect(url).await.map_err(|e| e.to_string())?;
    let mut producing = tokio::task::JoinSet::new();
    for producer in 0..producers {
        let client = publisher.clone();
        producing.spawn(async move {
            for i in 0..per_producer {
                let seq = producer * per_producer + i;
                let request = (
                    TRACE.value(TraceContext::new_root(true)),
                    REQUEST_ID.value(format!("order-{seq}").parse().unwrap()),
                    TENANT.value(format!("tenant-{producer}")),
                );
                ctxflow::scope(request, publish(&client, seq)).await?;
            }
            client.flush().await.map_err(|e| e.to_string())
        });
    }
    let mut report = Report::default();
    while let Some(done) = producing.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    report.published = total;

    let mut seen = HashSet::new();
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    while seen.len() < total {
        let outcome = tokio::select! {
            outcome = outcomes.recv() => outcome.ok_or("the consumer stopped")?,
            () = &mut deadline => break,
        };
        report.handled += 1;
        report.reads_checked += outcome.reads;
        report.malformed_handled += usize::from(outcome.shape != Shape::Clean);
        report.mismatches.extend(outcome.mismatches);
        report.duplicates += usize::from(!seen.insert(outcome.seq));
    }
    consuming.abort();
    if seen.len() < total {
        let missing: Vec<usize> = (0..total).filter(|seq| !seen.contains(seq)).take(10).collect();
        report.mismatches.push(format!("{} of {total} orders never handled, first {missing:?}", total - seen.len()));
    }
    Ok(report)
}

/// Publishes order `seq` from inside its request's context.
async fn publish(client: &async_nats::Client, seq: usize) -> Result<(), String> {
    let shape = Shape::of(seq);
    let mut headers = NatsHeaders(HeaderMap::new());
    match shape {
        Shape::Clean => {}
        Shape::BadTraceparent => headers.0.insert("traceparent", "00-not-a-trace-id-01"),
        // A header the producer sets itself is kept, so TENANT travels in this list.
        Shape::BadBaggageMember => headers.0.insert("baggage", format!("=no-key,tenant={}", TENANT.get().unwrap())),
    }
    inject_message(&mut headers);
    let trace_id = TRACE.with(|t| t.map(|t| t.trace_id.to_string())).unwrap_or_default();
    let payload = format!("{seq}|{}|{trace_id}|{}", REQUEST_ID.get().unwrap(), TENANT.get().unwrap());
    client.publish_with_headers(SUBJECT, headers.0, payload.into()).await.map_err(|e| e.to_string())
}

struct Outcome {
    seq: usize,
    shape: Shape,
    reads: usize,
    mismatches: Vec<String>,
}

/// Handles one order inside the context its message carried, checking every read.
async fn handle(message: Message) -> Outcome {
    let payload = String::from_utf8_lossy(&message.payload).into_owned();
    let fields: Vec<&str> = payload.split('|').collect();
    let [seq, request_id, trace_id, tenant] = fields[..] else {
        return Outcome {
            seq: usize::MAX,
            shape: Shape::Clean,
            reads: 0,
            mismatches: vec![format!("bad payload {payload:?}")],
        };
    };
    let seq: usize = seq.parse().unwrap_or(usize::MAX);
    let shape = Shape::of(seq);
    let mut outcome = Outcome { seq, shape, reads: 0, mismatches: Vec::new() };
    let check = |outcome: &mut Outcome, at: &str, seen: [Option<String>; 3], parent: bool| {
        outcome.reads += 3;
        let [seen_request, seen_trace, seen_tenant] = seen;
        if seen_request.as_deref() != Some(request_id) {
            outcome.mismatches.push(format!("order {seq} {at}: request id {seen_request:?}, sent {request_id}"));
        }
        if seen_tenant.as_deref() != Some(tenant) {
            outcome.mismatches.push(format!("order {seq} {at}: tenant {seen_tenant:?}, sent {tenant}"));
        }
        let trace_ok = match shape {
            // A new trace: not the producer's, and no parent.
            Shape::BadTraceparent => seen_trace.as_deref().is_some_and(|t| t != trace_id) && !parent,
            _ => seen_trace.as_deref() == Some(trace_id) && parent,
        };
        if !trace_ok {
            outcome.mismatches.push(format!("order {seq} {at} ({shape:?}): trace {seen_trace:?}, sent {trace_id}"));
        }
    };
    check(&mut outcome, "on arrival", current(), has_parent());
    tokio::task::yield_now().await;
    check(&mut outcome, "after an await", current(), has_parent());
    let (seen, parent) = ctxflow::spawn(async { (current(), has_parent()) }).await.unwrap_or_default();
    check(&mut outcome, "in a spawned task", seen, parent);
    outcome
}

fn current() -> [Option<String>; 3] {
    [REQUEST_ID.get().map(|id| id.to_string()), TRACE.with(|t| t.map(|t| t.trace_id.to_string())), TENANT.get()]
}

fn has_parent() -> bool {
    TRACE.with(|t| t.is_some_and(|t| t.parent_id.is_some()))
}
