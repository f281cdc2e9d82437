//! A `baggage` header that is there before ctxflow injects (OpenTelemetry's propagator ran
//! first, or the caller wrote one) gets the declared variables added: none is dropped, the
//! request's current value wins for its own key, every other member is kept.

use std::collections::HashMap;

use ctxflow::ContextVar;
use ctxflow_http::{Baggage, REQUEST_ID, inject, inject_message};
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::BaggagePropagator;

static TENANT: ContextVar<String> = ContextVar::new("tenant");
static PLAN: ContextVar<String> = ContextVar::new("plan");

fn declare() {
    Baggage::export(&TENANT, "tenant").unwrap();
    Baggage::export(&PLAN, "plan").unwrap();
}

/// The members of a baggage header, sorted, as `key=value`.
fn members(text: &str) -> Vec<String> {
    let (baggage, errors) = Baggage::parse_lossy(text);
    assert!(errors.is_empty(), "{text}: {errors:?}");
    let mut all: Vec<String> = baggage.iter().map(|m| format!("{}={}", m.key(), m.value())).collect();
    all.sort();
    all
}

#[test]
fn exports_join_the_baggage_that_opentelemetry_wrote_first() {
    declare();
    // OpenTelemetry's baggage propagator writes its own baggage into the carrier first.
    let otel = opentelemetry::Context::current()
        .with_baggage([KeyValue::new("otel_key", "from-otel"), KeyValue::new("tenant", "stale")]);
    let mut carrier: HashMap<String, String> = HashMap::new();
    BaggagePropagator::new().inject_context(&otel, &mut carrier);
    assert!(carrier.contains_key("baggage"));

    let request = (TENANT.value("acme".into()), PLAN.value("gold".into()), REQUEST_ID.value("r-1".parse().unwrap()));
    ctxflow::sync_scope(request.clone(), || inject_message(&mut carrier));
    assert_eq!(members(&carrier["baggage"]), ["otel_key=from-otel", "plan=gold", "tenant=acme"]);
    assert_eq!(carrier["x-request-id"], "r-1");

    // The same through an HTTP header map.
    let mut headers = http::HeaderMap::new();
    headers.insert("baggage", "otel_key=from-otel,tenant=stale".parse().unwrap());
    ctxflow::sync_scope(request, || inject(&mut headers));
    assert_eq!(headers.get_all("baggage").iter().count(), 1);
    assert_eq!(members(headers["baggage"].to_str().unwrap()), ["otel_key=from-otel", "plan=gold", "tenant=acme"]);
}

#[test]
fn a_header_is_left_byte_for_byte_when_no_export_is_set_or_it_already_agrees() {
    declare();
    let original = "otel_key=from-otel;prop=1, tenant=acme";
    let mut headers = http::HeaderMap::new();
    headers.insert("baggage", original.parse().unwrap());
    inject(&mut headers);
    assert_eq!(headers["baggage"], original, "no declared variable is set");
    TENANT.sync_scope("acme".into(), || inject(&mut headers));
    assert_eq!(headers["baggage"], original, "the header already carries the same value");
}
