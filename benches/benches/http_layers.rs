//! What `ServerLayer` adds to one request: a trivial inner service called through tower's
//! `oneshot`, bare and wrapped, with and without the four headers the layer reads, the response
//! body polled to its end (so `ScopedBody` is included). The difference between a wrapped and
//! a bare row is the layer's per-request work (docs/http.md, "Cost of the server layer").
//! The client half (`ClientLayer` on a client that sends nothing, inside a request's context)
//! is measured the same way.
//!
//! Run: `cargo bench -p ctxflow-benches --bench http_layers` (about 40 s). On a loaded machine,
//! count instructions instead (`scripts/layer-instructions.sh`: the `instr` probe's
//! `http_request` groups).

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ctxflow_benches::http_requests::{self as support, TENANT, inner, request, serve};
use ctxflow_http::{Baggage, ServerLayer};
use tower::Layer;

fn server(c: &mut Criterion) {
    let mut g = c.benchmark_group("server_layer");
    for (name, with_headers) in [("no headers", false), ("4 headers", true)] {
        let mut bare = inner();
        g.bench_function(format!("bare, {name}"), |b| {
            b.iter_batched(|| request(with_headers), |req| serve(&mut bare, req), BatchSize::SmallInput)
        });
        let mut layered = ServerLayer::new().layer(inner());
        g.bench_function(format!("ServerLayer, {name}"), |b| {
            b.iter_batched(|| request(with_headers), |req| serve(&mut layered, req), BatchSize::SmallInput)
        });
    }
    g.finish();
}

fn client(c: &mut Criterion) {
    let mut g = c.benchmark_group("client_layer");
    let mut bare = support::sink();
    g.bench_function("bare", |b| {
        b.iter_batched(
            || request(false),
            |req| support::now(tower::ServiceExt::oneshot(&mut bare, req)),
            BatchSize::SmallInput,
        )
    });
    let context = support::request_context();
    let mut client = support::client();
    g.bench_function("ClientLayer, inside a request with 4 headers", |b| {
        b.iter(|| support::send(&mut client, &context))
    });
    g.finish();
}

/// Declarations are process-wide and permanent, so these rows come last.
fn declared(c: &mut Criterion) {
    Baggage::export(&TENANT, "tenant").unwrap();
    let mut g = c.benchmark_group("declared_export");
    let mut layered = ServerLayer::new().layer(inner());
    g.bench_function("ServerLayer, 4 headers, tenant declared", |b| {
        b.iter_batched(|| request(true), |req| serve(&mut layered, req), BatchSize::SmallInput)
    });
    let context = support::request_context();
    let mut client = support::client();
    g.bench_function("ClientLayer, inside a request with 4 headers, tenant declared", |b| {
        b.iter(|| support::send(&mut client, &context))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = server, client, declared
}
criterion_main!(benches);
