//! Parse cost of our W3C parsers next to the `opentelemetry_sdk` propagators (the crate we
//! decided not to build on; see docs/http.md). Same inputs, from a header map in both cases.
//!
//! Run: `cargo bench -p ctxflow-benches --bench parse` (about 30 s).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ctxflow_http::{Baggage, ExtractOptions, IncomingContext, TraceParent, TraceState};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACESTATE: &str = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,acme=x@1";
const BAGGAGE: &str = "userId=alice,serverNode=DF%2028,isProduction=false,tenant=acme;ttl=60";

fn headers() -> (http::HeaderMap, HashMap<String, String>) {
    let pairs = [("traceparent", TRACEPARENT), ("tracestate", TRACESTATE), ("baggage", BAGGAGE)];
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(k, v.parse().unwrap());
    }
    (map, pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn parse(c: &mut Criterion) {
    let (map, otel_map) = headers();
    let trace = TraceContextPropagator::new();
    let baggage = BaggagePropagator::new();

    let mut g = c.benchmark_group("trace_context");
    g.bench_function("ctxflow_http traceparent+tracestate", |b| {
        b.iter(|| {
            let tp = TraceParent::from_headers(black_box(&map)).unwrap().unwrap();
            let ts = TraceState::from_headers(black_box(&map)).unwrap();
            black_box((tp, ts))
        })
    });
    g.bench_function("opentelemetry TraceContextPropagator", |b| {
        b.iter(|| {
            let cx = trace.extract(black_box(&otel_map));
            black_box(cx.span().span_context().trace_id())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("baggage");
    g.bench_function("ctxflow_http Baggage::from_headers", |b| {
        b.iter(|| black_box(Baggage::from_headers(black_box(&map))))
    });
    g.bench_function("opentelemetry BaggagePropagator", |b| {
        b.iter(|| black_box(baggage.extract(black_box(&otel_map))))
    });
    g.finish();

    let mut g = c.benchmark_group("server_layer_work");
    let empty = http::HeaderMap::new();
    for (name, headers) in [("no headers", &empty), ("all headers", &map)] {
        g.bench_function(format!("extract + bind + snapshot, {name}"), |b| {
            b.iter(|| {
                let incoming = IncomingContext::from_headers(black_box(headers), &ExtractOptions::default());
                black_box(ctxflow::Snapshot::capture().with_bindings(incoming.into_bindings()))
            })
        });
    }
    g.bench_function("parts: IncomingContext::from_headers, all headers", |b| {
        b.iter(|| black_box(IncomingContext::from_headers(black_box(&map), &ExtractOptions::default())))
    });
    g.bench_function("parts: into_bindings + Snapshot::with_bindings", |b| {
        b.iter_batched(
            || IncomingContext::from_headers(&map, &ExtractOptions::default()),
            |incoming| black_box(ctxflow::Snapshot::capture().with_bindings(incoming.into_bindings())),
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("parts: RequestId::generate", |b| b.iter(|| black_box(ctxflow_http::RequestId::generate())));
    g.bench_function("parts: SpanId::random", |b| b.iter(|| black_box(ctxflow_http::SpanId::random())));
    g.finish();

    let mut g = c.benchmark_group("format");
    let tp = TraceParent::parse(TRACEPARENT).unwrap();
    let b4g = Baggage::parse(BAGGAGE).unwrap();
    g.bench_function("ctxflow_http traceparent to_string", |b| b.iter(|| black_box(black_box(&tp).to_string())));
    g.bench_function("ctxflow_http baggage to_string", |b| b.iter(|| black_box(black_box(&b4g).to_string())));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = parse
}
criterion_main!(benches);
