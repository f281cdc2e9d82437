//! Message carriers: the context written into and read back from a message's headers, with
//! HTTP's rules, through the three maps that implement the traits here and a Kafka-style list.

use std::collections::{BTreeMap, HashMap};

use ctxflow::ContextVar;
use ctxflow_http::{
    BAGGAGE, Baggage, ExtractOptions, IncomingContext, InjectOptions, MessageHeaders, MessageHeadersMut, REQUEST_ID,
    TRACE, TraceContext, inject_message, inject_message_with,
};

static ORDER_TENANT: ContextVar<String> = ContextVar::new("order_tenant");

/// Kafka-style record headers: repeated keys allowed, values are bytes.
#[derive(Default, Debug)]
struct Record(Vec<(String, Vec<u8>)>);

impl MessageHeaders for Record {
    fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.0.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

impl MessageHeadersMut for Record {
    fn insert(&mut self, name: &str, value: &str) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.0.push((name.to_owned(), value.as_bytes().to_vec()));
    }
}

fn producer_context() -> Vec<ctxflow::Binding> {
    let baggage: Baggage = "region=eu".parse().unwrap();
    vec![
        TRACE.value(TraceContext::new_root(true)),
        BAGGAGE.value(baggage),
        REQUEST_ID.value("order-1".parse().unwrap()),
        ORDER_TENANT.value("acme".into()),
    ]
}

/// Injects in the producer's context, extracts, and reads back what a consumer would see.
fn round_trip<M: MessageHeadersMut + Default>() -> (String, String, String, Option<String>, Option<String>) {
    let _ = Baggage::export(&ORDER_TENANT, "order_tenant");
    let (sent_trace, headers) = ctxflow::sync_scope(producer_context(), || {
        let mut headers = M::default();
        inject_message(&mut headers);
        (TRACE.with(|t| t.unwrap().trace_id.to_string()), headers)
    });
    let incoming = IncomingContext::from_message(&headers, &ExtractOptions::default());
    ctxflow::sync_scope(incoming.into_bindings(), || {
        let trace = TRACE.with(|t| t.unwrap().trace_id.to_string());
        let region = BAGGAGE.with(|b| b.and_then(|b| b.get("region").map(|v| v.into_owned())));
        (sent_trace, trace, REQUEST_ID.get().unwrap().to_string(), region, ORDER_TENANT.get())
    })
}

#[test]
fn the_context_crosses_every_kind_of_map() {
    for (kind, (sent, received, id, region, tenant)) in [
        ("HashMap", round_trip::<HashMap<String, String>>()),
        ("BTreeMap", round_trip::<BTreeMap<String, String>>()),
        ("HeaderMap", round_trip::<http::HeaderMap>()),
        ("record", round_trip::<Record>()),
    ] {
        assert_eq!(received, sent, "{kind}: the trace continues");
        assert_eq!(id, "order-1", "{kind}");
        assert_eq!(region.as_deref(), Some("eu"), "{kind}");
        assert_eq!(tenant.as_deref(), Some("acme"), "{kind}: the declared export crossed");
    }
}

#[test]
fn each_message_gets_its_own_parent_id_and_a_header_already_there_is_kept() {
    ctxflow::sync_scope(producer_context(), || {
        let (mut a, mut b) = (HashMap::<String, String>::new(), HashMap::<String, String>::new());
        inject_message(&mut a);
        inject_message(&mut b);
        assert_ne!(a["traceparent"], b["traceparent"]);
        let mut mine = HashMap::from([("x-request-id".to_owned(), "set-by-producer".to_owned())]);
        inject_message(&mut mine);
        assert_eq!(mine["x-request-id"], "set-by-producer");
        assert!(mine.contains_key("traceparent"));
    });
    let mut outside = HashMap::<String, String>::new();
    inject_message(&mut outside);
    assert!(outside.is_empty(), "nothing to write outside any context: {outside:?}");
}

#[test]
fn malformed_headers_are_dropped_and_the_message_still_has_a_context() {
    let mut record = Record::default();
    record.0.push(("traceparent".into(), b"00-zz-not-hex".to_vec()));
    record.0.push(("baggage".into(), b"ok=1,=no-key".to_vec()));
    record.0.push(("baggage".into(), b"second=2".to_vec()));
    record.0.push(("x-request-id".into(), b"id\nwith-newline".to_vec()));
    let incoming = IncomingContext::from_message(&record, &ExtractOptions::default());
    assert!(incoming.trace.parent_id.is_none(), "a bad traceparent starts a new trace");
    let members: Vec<_> = incoming.baggage.iter().map(|m| m.key().to_owned()).collect();
    assert_eq!(members, ["ok", "second"], "a bad member loses only itself; two fields combine");
    assert_eq!(incoming.request_id.as_str().len(), 32, "a request id with a control character is replaced");
}

#[test]
fn the_request_id_header_is_the_one_the_options_name() {
    let headers = HashMap::from([("x-correlation-id".to_owned(), "c-4".to_owned())]);
    let mut options = ExtractOptions::default();
    options.request_id_header = http::HeaderName::from_static("x-correlation-id");
    assert_eq!(IncomingContext::from_message(&headers, &options).request_id.as_str(), "c-4");
}

#[test]
fn a_request_id_sent_under_another_name_reaches_a_consumer_reading_that_name() {
    let name = http::HeaderName::from_static("x-correlation-id");
    let mut sent = InjectOptions::default();
    sent.request_id_header = name.clone();
    let mut read = ExtractOptions::default();
    read.request_id_header = name;
    let mut record = Record::default();
    ctxflow::sync_scope(producer_context(), || inject_message_with(&mut record, &sent));
    assert_eq!(record.values("x-correlation-id").collect::<Vec<_>>(), [b"order-1".as_slice()]);
    assert_eq!(record.values("x-request-id").count(), 0, "only the named header carries the id");
    let incoming = IncomingContext::from_message(&record, &read);
    assert_eq!(incoming.request_id.as_str(), "order-1", "the consumer keeps the producer's id");
    // With the default name on the producer's side, that consumer finds no id and makes one.
    let mut record = Record::default();
    ctxflow::sync_scope(producer_context(), || inject_message(&mut record));
    assert_ne!(IncomingContext::from_message(&record, &read).request_id.as_str(), "order-1");
}
