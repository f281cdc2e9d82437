//! One test per `tracestate` rule (w3c-conformance.md §7), plus the mutation rules the harness
//! does not check.

use ctxflow_http::{TraceState, TraceStateError as E};
use http::{HeaderMap, HeaderName, HeaderValue};

fn headers(fields: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for f in fields {
        h.append("tracestate", HeaderValue::from_str(f).unwrap());
    }
    h
}

fn combined(fields: &[&str]) -> Result<String, E> {
    TraceState::from_headers(&headers(fields)).map(|t| t.to_string())
}

#[test]
fn repeated_fields_are_combined_in_order() {
    assert_eq!(combined(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]).unwrap(), "foo=1,bar=2,rojo=1,congo=2,baz=3");
}

#[test]
fn empty_fields_and_empty_members_are_accepted_and_skipped() {
    assert_eq!(combined(&[""]).unwrap(), "");
    assert_eq!(combined(&["foo=1", ""]).unwrap(), "foo=1");
    assert_eq!(combined(&["", "foo=1"]).unwrap(), "foo=1");
    assert_eq!(combined(&["foo=1,, ,\t,bar=2,"]).unwrap(), "foo=1,bar=2");
}

#[test]
fn whitespace_around_members_is_ignored() {
    assert_eq!(combined(&["foo=1 \t , \t bar=2, \t baz=3"]).unwrap(), "foo=1,bar=2,baz=3");
    assert_eq!(combined(&[" \t foo=1 \t "]).unwrap(), "foo=1");
}

#[test]
fn header_name_is_case_insensitive_and_exact() {
    for name in ["TraceState", "TRACESTATE"] {
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_static("foo=1"));
        assert_eq!(TraceState::from_headers(&h).unwrap().as_str(), "foo=1");
    }
    let mut h = HeaderMap::new();
    h.insert("trace-state", HeaderValue::from_static("foo=1"));
    assert!(TraceState::from_headers(&h).unwrap().is_empty());
}

#[test]
fn thirty_two_members_are_kept_thirty_three_discard_the_list() {
    let members: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
    let thirty_two =
        [members[..8].join(","), members[8..16].join(","), members[16..24].join(","), members[24..32].join(",")];
    let refs: Vec<&str> = thirty_two.iter().map(String::as_str).collect();
    assert_eq!(TraceState::from_headers(&headers(&refs)).unwrap().len(), 32);
    let mut refs33 = refs.clone();
    refs33.push(&members[32]);
    assert_eq!(combined(&refs33), Err(E::TooManyMembers));
}

#[test]
fn key_grammar_level_2() {
    for ok in ["a", "0", "foo@", "foo@@bar", "foo@bar@baz", "a-z0-9_-*/", "a@a-z0-9_-*/", "t@vvvvvvvvvvvvvv"] {
        assert!(TraceState::parse(&format!("{ok}=1")).is_ok(), "{ok}");
    }
    for bad in ["FOO", "foo.bar", "@foo", "_foo", "*", "fOo", "foo bar", "é"] {
        let err = TraceState::parse(&format!("{bad}=1,bar=2")).unwrap_err();
        assert_eq!(err, E::InvalidKey { member: 0 }, "{bad}");
    }
    // A space before '=' belongs to the key.
    assert_eq!(TraceState::parse("foo =1"), Err(E::InvalidKey { member: 0 }));
}

#[test]
fn key_length_limit_is_256() {
    assert!(TraceState::parse(&format!("{}=1", "z".repeat(256))).is_ok());
    assert_eq!(TraceState::parse(&format!("{}=1", "z".repeat(257))), Err(E::InvalidKey { member: 0 }));
    for key in [
        format!("{}@{}", "t".repeat(241), "v".repeat(14)),
        format!("{}@v", "t".repeat(242)),
        format!("t@{}", "v".repeat(15)),
    ] {
        assert!(TraceState::parse(&format!("{key}=1")).is_ok(), "{}", key.len());
    }
}

#[test]
fn value_grammar() {
    let all_allowed: String = (0x20u8..=0x7e).filter(|c| *c != b',' && *c != b'=').map(char::from).collect();
    let v = all_allowed.trim_end();
    assert_eq!(TraceState::parse(&format!("foo={v}")).unwrap().get("foo"), Some(v));
    for bad in ["foo=bar=baz", "foo=", "foo==bar", "foo=é", "foo=a\tb"] {
        assert_eq!(TraceState::parse(bad), Err(E::InvalidValue { member: 0 }), "{bad:?}");
    }
    assert_eq!(TraceState::parse("foo=,bar=3"), Err(E::InvalidValue { member: 0 }));
    assert_eq!(TraceState::parse("foo"), Err(E::MissingEquals { member: 0 }));
    assert!(TraceState::parse(&format!("k={}", "v".repeat(256))).is_ok());
    assert_eq!(TraceState::parse(&format!("k={}", "v".repeat(257))), Err(E::InvalidValue { member: 0 }));
}

#[test]
fn leading_spaces_in_a_value_are_part_of_it() {
    assert_eq!(TraceState::parse("foo= bar").unwrap().get("foo"), Some(" bar"));
}

#[test]
fn one_bad_member_discards_the_whole_list_and_names_it() {
    assert_eq!(combined(&["foo=1", "bar=2,BAZ=3"]), Err(E::InvalidKey { member: 2 }));
}

#[test]
fn duplicate_keys_in_input_are_kept() {
    assert_eq!(combined(&["foo=1,foo=2"]).unwrap(), "foo=1,foo=2");
    assert_eq!(combined(&["foo=1", "foo=1"]).unwrap(), "foo=1,foo=1");
}

#[test]
fn insert_puts_the_key_first_once_and_keeps_the_rest_in_order() {
    let mut ts = TraceState::parse("a=1,b=2,a=3,c=4").unwrap();
    ts.insert("a", "x").unwrap();
    assert_eq!(ts.as_str(), "a=x,b=2,c=4");
    ts.insert("z", "9").unwrap();
    assert_eq!(ts.as_str(), "z=9,a=x,b=2,c=4");
}

#[test]
fn insert_into_a_full_list_drops_the_right_most() {
    let full: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
    let mut ts = TraceState::parse(&full.join(",")).unwrap();
    ts.insert("new", "1").unwrap();
    assert_eq!(ts.len(), 32);
    assert_eq!(ts.iter().next(), Some(("new", "1")));
    assert_eq!(ts.get("k31"), None);
    assert_eq!(ts.get("k30"), Some("v"));
}

#[test]
fn insert_validates() {
    let mut ts = TraceState::new();
    assert!(ts.insert("A", "1").is_err());
    assert!(ts.insert("a", "1,b=2").is_err());
    assert!(ts.insert("a", "x ").is_err(), "a value may not end in a space");
    assert!(ts.is_empty());
}

#[test]
fn non_ascii_field_is_an_error() {
    let mut h = HeaderMap::new();
    h.append("tracestate", HeaderValue::from_bytes(b"foo=\xe9").unwrap());
    assert_eq!(TraceState::from_headers(&h), Err(E::NotAscii));
}
