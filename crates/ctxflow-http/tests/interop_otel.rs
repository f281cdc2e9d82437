//! Interop with the `opentelemetry` crates' propagators, both directions: what we write, they
//! read; what they write, we read. With the `opentelemetry` feature, the ids convert losslessly.

use std::collections::HashMap;

use ctxflow_http::{BAGGAGE, Baggage, ExtractOptions, IncomingContext, TRACE, TraceContext, TraceParent, TraceState};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState as OtelState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

fn to_map(headers: &http::HeaderMap) -> HashMap<String, String> {
    headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect()
}

fn to_headers(map: &HashMap<String, String>) -> http::HeaderMap {
    map.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
}

#[test]
fn opentelemetry_reads_what_we_write() {
    let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
    let trace = TraceContext::continued(tp, TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").unwrap());
    let baggage: Baggage = "userId=alice,serverNode=DF%2028,note=caf%C3%A9".parse().unwrap();
    let mut headers = http::HeaderMap::new();
    ctxflow::sync_scope((TRACE.value(trace), BAGGAGE.value(baggage)), || ctxflow_http::inject(&mut headers));
    let map = to_map(&headers);

    let cx = TraceContextPropagator::new().extract(&map);
    let span = cx.span();
    let sc = span.span_context();
    assert!(sc.is_valid() && sc.is_remote() && sc.is_sampled());
    assert_eq!(sc.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(sc.span_id().to_string(), headers["traceparent"].to_str().unwrap()[36..52]);
    assert_eq!(sc.trace_state().header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");

    let cx = BaggagePropagator::new().extract(&map);
    let b = cx.baggage();
    assert_eq!(b.get("userId").map(|v| v.as_str()), Some("alice"));
    assert_eq!(b.get("serverNode").map(|v| v.as_str()), Some("DF 28"));
    assert_eq!(b.get("note").map(|v| v.as_str()), Some("café"));
}

#[test]
fn we_read_what_opentelemetry_writes() {
    let sc = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        OtelState::from_key_value([("rojo", "1"), ("congo", "2")]).unwrap(),
    );
    let cx = Context::new()
        .with_remote_span_context(sc)
        .with_baggage([KeyValue::new("userId", "alice"), KeyValue::new("serverNode", "DF 28;x")]);
    let mut map = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut map);
    BaggagePropagator::new().inject_context(&cx, &mut map);

    let incoming = IncomingContext::from_headers(&to_headers(&map), &ExtractOptions::default());
    assert_eq!(incoming.trace.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(incoming.trace.parent_id.map(|p| p.to_string()).as_deref(), Some("00f067aa0ba902b7"));
    assert!(incoming.trace.flags.is_sampled());
    assert_eq!(incoming.trace.tracestate.as_str(), "rojo=1,congo=2");
    assert_eq!(incoming.baggage.get("userId").unwrap(), "alice");
    assert_eq!(incoming.baggage.get("serverNode").unwrap(), "DF 28;x");
}

#[cfg(feature = "opentelemetry")]
#[test]
fn ids_are_the_same_on_both_sides() {
    let ours = TraceContext::new_root(true);
    let theirs: TraceId = ours.trace_id.into();
    assert_eq!(theirs.to_string(), ours.trace_id.to_string());
    assert_eq!(ctxflow_http::TraceId::try_from(theirs), Ok(ours.trace_id));
    assert!(ctxflow_http::TraceId::try_from(TraceId::INVALID).is_err());
    let span: SpanId = ours.span_id.into();
    assert_eq!(span.to_string(), ours.span_id.to_string());
    assert!(ours.remote_span_context().is_none(), "a trace started here has no remote parent");
}
