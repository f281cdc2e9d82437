//! Property tests: the parsers never panic on any input, whatever they keep stays within the
//! limits, and what we write reads back as the same value.

use ctxflow_http::{Baggage, Member, SpanId, TraceFlags, TraceId, TraceParent, TraceState, limits};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

/// Header-ish text: mostly the characters the grammars care about, plus anything.
fn headerish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-0-9a-fA-F=,; \t%@*/_.]{0,80}",
        ".{0,80}",
        "(00|cc|ff|0|000)-[0-9a-f]{30,34}-[0-9a-f]{14,18}-[0-9a-f]{1,3}(-.{0,5})?",
    ]
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_text(s in headerish()) {
        let _ = TraceParent::parse(&s);
        let _ = TraceState::parse(&s);
        let (b, _) = Baggage::parse_lossy(&s);
        prop_assert!(b.len() <= limits::BAGGAGE_MAX_MEMBERS && b.wire_len() <= limits::BAGGAGE_MAX_BYTES);
        for m in b.iter() {
            let _ = m.value();
            prop_assert_eq!(m.properties().count(), m.as_str().matches(';').count());
        }
    }

    #[test]
    fn header_maps_of_arbitrary_bytes_never_panic(fields in prop::collection::vec(prop::collection::vec(0x20u8..=0xff, 0..60), 0..5)) {
        let mut h = HeaderMap::new();
        for (i, f) in fields.iter().enumerate() {
            if let Ok(v) = HeaderValue::from_bytes(f) {
                let name = ["traceparent", "tracestate", "baggage"][i % 3];
                h.append(name, v);
            }
        }
        let _ = TraceParent::from_headers(&h);
        let _ = TraceState::from_headers(&h);
        let _ = Baggage::from_headers(&h);
    }

    #[test]
    fn traceparent_round_trips(trace in any::<[u8; 16]>(), span in any::<[u8; 8]>(), flags in any::<u8>()) {
        let (Some(trace), Some(span)) = (TraceId::from_bytes(trace), SpanId::from_bytes(span)) else { return Ok(()) };
        let tp = TraceParent::new(trace, span, TraceFlags::from_bits(flags));
        let text = tp.to_string();
        prop_assert_eq!(text.len(), 55);
        let back = TraceParent::parse(&text).unwrap();
        prop_assert_eq!((back.trace_id, back.parent_id, back.flags), (trace, span, TraceFlags::from_bits(flags).known()));
    }

    /// A 55-byte field skips `to_str` when it parses (`from_fields`): it must still read
    /// exactly as its text does, errors included, whatever bytes it holds.
    #[test]
    fn traceparent_fields_read_as_their_text(
        edits in prop::collection::vec((0usize..55, prop_oneof![Just(b'-'), Just(b' '), Just(b'\t'), Just(b'A'), Just(b'g'), 0x80u8..=0xff, 0x20u8..=0x7e]), 0..3),
        version in prop_oneof![Just("00"), Just("01"), Just("ff")],
    ) {
        let mut field = format!("{version}-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").into_bytes();
        for (at, byte) in edits {
            field[at] = byte;
        }
        let Ok(value) = HeaderValue::from_bytes(&field) else { return Ok(()) };
        let expected = match value.to_str() {
            Ok(text) => TraceParent::parse(text).map(Some),
            Err(_) => Err(ctxflow_http::TraceParentError::NotAscii),
        };
        let mut h = HeaderMap::new();
        h.insert("traceparent", value);
        prop_assert_eq!(TraceParent::from_headers(&h), expected);
    }

    #[test]
    fn tracestate_round_trips(members in prop::collection::vec(("[a-z0-9][a-z0-9_*/@-]{0,20}", "[!-+--<>-~][ !-+--<>-~]{0,20}[!-+--<>-~]"), 0..=32)) {
        let text = members.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" , ");
        let ts = TraceState::parse(&text).unwrap();
        prop_assert_eq!(ts.len(), members.len());
        let back = TraceState::parse(ts.as_str()).unwrap();
        prop_assert_eq!(&back, &ts);
        for ((k, v), (k2, v2)) in members.iter().zip(ts.iter()) {
            prop_assert_eq!((k.as_str(), v.as_str()), (k2, v2));
        }
    }

    #[test]
    fn baggage_values_round_trip_through_percent_encoding(key in token(), value in ".{0,40}", prop_value in ".{0,20}") {
        let m = Member::new(&key, &value).unwrap().with_property(&key, Some(&prop_value)).unwrap();
        let b = Baggage::parse(m.as_str()).unwrap();
        let back = b.iter().next().unwrap();
        prop_assert_eq!(back.key(), key.as_str());
        prop_assert_eq!(back.value(), value.as_str());
        let prop = back.properties().next().unwrap();
        prop_assert_eq!(prop.value.as_deref(), Some(prop_value.as_str()));
    }

    #[test]
    fn baggage_lists_round_trip(members in prop::collection::vec((token(), ".{0,30}"), 0..80)) {
        let mut b = Baggage::new();
        for (k, v) in &members {
            b.insert(Member::new(k, v).unwrap()).unwrap();
        }
        prop_assert!(b.len() <= limits::BAGGAGE_MAX_MEMBERS && b.wire_len() <= limits::BAGGAGE_MAX_BYTES);
        prop_assert_eq!(b.to_string().len(), b.wire_len());
        let back = Baggage::parse(&b.to_string()).unwrap();
        prop_assert_eq!(back, b);
    }
}
