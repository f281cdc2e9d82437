//! One test per `traceparent` rule of the W3C processing model (w3c-conformance.md §7), including
//! the cases the official harness does not check (uppercase hex, short future versions, flags
//! masking on output).

use ctxflow_http::{IdError, SpanId, TraceFlags, TraceId, TraceParent, TraceParentError as E};
use http::{HeaderMap, HeaderValue};

const TRACE: &str = "12345678901234567890123456789012";
const PARENT: &str = "1234567890123456";

fn tp(version: &str, trace: &str, parent: &str, flags: &str) -> String {
    format!("{version}-{trace}-{parent}-{flags}")
}

fn parse(s: &str) -> Result<TraceParent, E> {
    TraceParent::parse(s)
}

#[test]
fn valid_version_00_is_read_field_by_field() {
    let p = parse(&tp("00", TRACE, PARENT, "01")).unwrap();
    assert_eq!(p.trace_id.to_string(), TRACE);
    assert_eq!(p.parent_id.to_string(), PARENT);
    assert_eq!(p.flags, TraceFlags::SAMPLED);
}

#[test]
fn version_00_must_be_exactly_55_chars() {
    assert_eq!(parse(&(tp("00", TRACE, PARENT, "01") + ".")), Err(E::WrongLength { len: 56 }));
    assert_eq!(
        parse(&(tp("00", TRACE, PARENT, "01") + "-what-the-future-will-be-like")),
        Err(E::WrongLength { len: 84 })
    );
    assert_eq!(parse(&tp("00", TRACE, PARENT, "1")), Err(E::WrongLength { len: 54 }));
    assert_eq!(parse(&tp("00", TRACE, PARENT, "001")), Err(E::WrongLength { len: 56 }));
}

#[test]
fn version_must_be_two_lowercase_hex_digits() {
    for v in [".0", "0.", "0", "000", "0000", "0A", "AA", "g0", ""] {
        let err = parse(&tp(v, TRACE, PARENT, "01")).unwrap_err();
        assert!(matches!(err, E::InvalidVersion), "version {v:?}: {err:?}");
    }
}

#[test]
fn version_ff_is_forbidden() {
    assert_eq!(parse(&tp("ff", TRACE, PARENT, "01")), Err(E::ForbiddenVersion));
}

#[test]
fn future_version_reads_known_fields_and_ignores_the_rest() {
    let base = tp("cc", TRACE, PARENT, "01");
    for s in [base.clone(), format!("{base}-what-the-future-will-be-like"), format!("{base}-")] {
        let p = parse(&s).unwrap();
        assert_eq!(p.trace_id.to_string(), TRACE, "{s}");
        assert_eq!(p.to_string(), tp("00", TRACE, PARENT, "01"), "answers in version 00");
    }
}

#[test]
fn future_version_needs_a_dash_after_the_flags() {
    let s = tp("cc", TRACE, PARENT, "01") + ".what-the-future-will-be-like";
    assert_eq!(parse(&s), Err(E::InvalidDelimiter));
}

#[test]
fn future_version_shorter_than_55_is_rejected() {
    assert_eq!(parse(&tp("cc", TRACE, PARENT, "1")), Err(E::TooShort { len: 54 }));
    assert_eq!(parse("cc-1234"), Err(E::TooShort { len: 7 }));
}

#[test]
fn future_version_still_validates_each_field() {
    assert!(matches!(
        parse(&tp("cc", &TRACE.to_uppercase().replace('1', "A"), PARENT, "01")),
        Err(E::InvalidTraceId(_))
    ));
    assert!(matches!(parse(&tp("cc", TRACE, "123456789012345.", "01")), Err(E::InvalidParentId(_))));
    assert_eq!(parse(&tp("cc", TRACE, PARENT, "0.")), Err(E::InvalidFlags));
}

#[test]
fn trace_id_all_zero_is_rejected() {
    let zeros = "0".repeat(32);
    assert_eq!(parse(&tp("00", &zeros, PARENT, "01")), Err(E::InvalidTraceId(IdError::AllZeros)));
}

#[test]
fn trace_id_illegal_characters_and_lengths_are_rejected() {
    for t in [".2345678901234567890123456789012", "1234567890123456789012345678901.", &"A".repeat(32)] {
        assert_eq!(parse(&tp("00", t, PARENT, "01")), Err(E::InvalidTraceId(IdError::NotLowercaseHex)), "{t}");
    }
    // 31 and 33 hex digits shift every later field: rejected before the ids are even read.
    assert!(parse(&tp("00", &TRACE[..31], PARENT, "01")).is_err());
    assert!(parse(&tp("00", &format!("{TRACE}3"), PARENT, "01")).is_err());
    assert!(parse(&tp("cc", &format!("{TRACE}3"), PARENT, "01")).is_err());
}

#[test]
fn parent_id_all_zero_is_rejected() {
    assert_eq!(parse(&tp("00", TRACE, "0000000000000000", "01")), Err(E::InvalidParentId(IdError::AllZeros)));
}

#[test]
fn parent_id_illegal_characters_and_lengths_are_rejected() {
    for p in [".234567890123456", "123456789012345.", "123456789012345A"] {
        assert_eq!(parse(&tp("00", TRACE, p, "01")), Err(E::InvalidParentId(IdError::NotLowercaseHex)), "{p}");
    }
    assert!(parse(&tp("00", TRACE, "12345678901234567", "01")).is_err());
    assert!(parse(&tp("00", TRACE, "123456789012345", "01")).is_err());
}

#[test]
fn flags_must_be_two_lowercase_hex_digits() {
    for f in [".0", "0.", "0A", "+1"] {
        assert_eq!(parse(&tp("00", TRACE, PARENT, f)), Err(E::InvalidFlags), "{f}");
    }
}

#[test]
fn uppercase_hex_is_rejected_everywhere() {
    let upper = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01";
    assert!(parse(upper).is_err());
    assert!(parse(&upper.to_lowercase()).is_ok());
}

#[test]
fn surrounding_spaces_and_tabs_are_ignored_nothing_else_is() {
    let v = tp("00", TRACE, PARENT, "01");
    for s in [format!(" {v}"), format!("{v} "), format!("\t{v}\t"), format!(" \t {v} \t ")] {
        assert_eq!(parse(&s).unwrap().trace_id.to_string(), TRACE, "{s:?}");
    }
    assert!(parse(&format!("\n{v}")).is_err());
    assert!(parse(&format!("{v}\u{a0}")).is_err());
}

#[test]
fn non_ascii_input_is_an_error_not_a_panic() {
    assert!(parse("é0-12345678901234567890123456789012-1234567890123456-01").is_err());
    assert!(parse("00-1234567890123456789012345678901é-1234567890123456-01").is_err());
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_bytes(b"00-\xff").unwrap());
    assert_eq!(TraceParent::from_headers(&headers), Err(E::NotAscii));
}

#[test]
fn exactly_one_field_is_required() {
    let mut headers = HeaderMap::new();
    assert_eq!(TraceParent::from_headers(&headers), Ok(None));
    headers.append("traceparent", tp("00", TRACE, PARENT, "01").parse().unwrap());
    assert!(TraceParent::from_headers(&headers).unwrap().is_some());
    headers.append("traceparent", tp("00", TRACE, "1234567890123457", "01").parse().unwrap());
    assert_eq!(TraceParent::from_headers(&headers), Err(E::Duplicate));
}

#[test]
fn header_name_is_case_insensitive_and_exact() {
    let v = tp("00", TRACE, PARENT, "01");
    for name in ["TraceParent", "TRACEPARENT", "TrAcEpArEnT"] {
        let mut headers = HeaderMap::new();
        headers.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), v.parse().unwrap());
        assert!(TraceParent::from_headers(&headers).unwrap().is_some(), "{name}");
    }
    for name in ["trace-parent", "trace.parent"] {
        let mut headers = HeaderMap::new();
        headers.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), v.parse().unwrap());
        assert_eq!(TraceParent::from_headers(&headers), Ok(None), "{name}");
    }
}

#[test]
fn output_is_version_00_with_unknown_flags_cleared() {
    let p = parse(&tp("cc", TRACE, PARENT, "ff")).unwrap();
    assert_eq!(p.flags.bits(), 0xff, "kept as received");
    assert_eq!(p.to_string(), tp("00", TRACE, PARENT, "03"));
}

#[test]
fn random_flag_round_trips() {
    let p = parse(&tp("00", TRACE, PARENT, "02")).unwrap();
    assert!(p.flags.is_random() && !p.flags.is_sampled());
    assert!(p.to_string().ends_with("-02"));
}

#[test]
fn random_ids_are_valid_and_distinct() {
    let a = TraceId::random();
    let b = TraceId::random();
    assert_ne!(a, b);
    assert_eq!(a.to_string().parse::<TraceId>(), Ok(a));
    let s = SpanId::random();
    assert_eq!(s.to_string().parse::<SpanId>(), Ok(s));
}

#[test]
fn errors_display_a_reason() {
    let err = parse("zz").unwrap_err();
    let as_error: &dyn std::error::Error = &err;
    assert!(as_error.to_string().contains("version"));
}
