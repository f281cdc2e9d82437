//! One test per W3C Baggage rule (w3c-conformance.md §7), with the vectors of the W3C reference
//! parser's unit tests (`w3c/baggage` `test/test_baggage.py`) and the known defects of other
//! implementations turned into regressions.

use ctxflow_http::{Baggage, BaggageError as E, Member, limits};
use http::{HeaderMap, HeaderValue};

fn one(s: &str) -> Member<'static> {
    let b = Baggage::parse(s).unwrap();
    assert_eq!(b.len(), 1, "{s}");
    b.iter().next().unwrap().into_owned()
}

#[test]
fn simple_and_multiple_members() {
    let b = Baggage::parse("SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;ValueProp=PropVal").unwrap();
    let m: Vec<_> = b.iter().collect();
    assert_eq!((m[0].key(), &*m[0].value()), ("SomeKey", "SomeValue"));
    let p: Vec<_> = m[0].properties().collect();
    assert_eq!((p[0].key, p[0].value.as_deref()), ("SomeProp", None));
    let p: Vec<_> = m[1].properties().collect();
    assert_eq!((p[0].key, p[0].value.as_deref()), ("ValueProp", Some("PropVal")));
}

#[test]
fn whitespace_around_every_part_is_ignored() {
    let s = "SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t ValueProp \t = \t PropVal";
    let b = Baggage::parse(s).unwrap();
    let m: Vec<_> = b.iter().collect();
    assert_eq!((m[0].key(), &*m[0].value()), ("SomeKey", "SomeValue"));
    assert_eq!((m[1].key(), &*m[1].value()), ("SomeKey2", "SomeValue2"));
    let p: Vec<_> = m[1].properties().collect();
    assert_eq!((p[0].key, p[0].value.as_deref()), ("ValueProp", Some("PropVal")));
}

#[test]
fn only_the_first_equals_splits_key_from_value() {
    assert_eq!(one("SomeKey=SomeValue=equals").value(), "SomeValue=equals");
}

#[test]
fn values_are_percent_decoded_and_encoded() {
    let encoded = "%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29";
    assert_eq!(one(&format!("SomeKey={encoded}")).value(), "\t \"';=asdf!@#$%^&*()");
    assert_eq!(Member::new("SomeKey", "\t \"';=asdf!@#$%^&*()").unwrap().as_str(), format!("SomeKey={encoded}"));
    assert_eq!(one(&format!("SomeKey \t = \t {encoded} \t ")).value(), "\t \"';=asdf!@#$%^&*()");
    assert_eq!(one("userId=Am%C3%A9lie").value(), "Amélie");
    assert_eq!(Member::new("userId", "Amélie").unwrap().as_str(), "userId=Am%C3%A9lie");
}

#[test]
fn property_values_are_percent_decoded_and_encoded() {
    let encoded = "%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29";
    let m = one(&format!("SomeKey=SomeValue;SomePropKey={encoded}"));
    assert_eq!(m.properties().next().unwrap().value.as_deref(), Some("\t \"';=asdf!@#$%^&*()"));
    let built =
        Member::new("SomeKey", "SomeValue").unwrap().with_property("SomePropKey", Some("\t \"';=asdf!@#$%^&*()"));
    assert_eq!(built.unwrap().as_str(), format!("SomeKey=SomeValue;SomePropKey={encoded}"));
}

#[test]
fn key_only_property_is_not_decoded() {
    let m = one("SomeKey=SomeValue;ValueProp%20%09%20%3D%20%09%20PropVal");
    let p: Vec<_> = m.properties().collect();
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].key, p[0].value.as_deref()), ("ValueProp%20%09%20%3D%20%09%20PropVal", None));
}

#[test]
fn same_name_properties_are_all_kept_in_order() {
    let m = one("SomeKey=SomeValue;SomeProp;SomeProp=PropValue;SomeProp=AnotherPropValue");
    let p: Vec<_> = m.properties().map(|p| (p.key, p.value.map(|v| v.into_owned()))).collect();
    assert_eq!(
        p,
        [("SomeProp", None), ("SomeProp", Some("PropValue".into())), ("SomeProp", Some("AnotherPropValue".into()))]
    );
}

#[test]
fn invalid_utf8_becomes_replacement_character() {
    assert_eq!(one("k=%FF").value(), "\u{FFFD}");
    assert_eq!(one("k=a%C3b").value(), "a\u{FFFD}b");
    assert_eq!(one("k=v;p=%FE").properties().next().unwrap().value.as_deref(), Some("\u{FFFD}"));
}

#[test]
fn keys_are_case_sensitive_and_not_decoded() {
    let b = Baggage::parse("k%41=v,K=2,k=3").unwrap();
    assert_eq!(b.get("k%41").unwrap(), "v");
    assert!(b.get("kA").is_none());
    assert_eq!(b.get("K").unwrap(), "2");
    assert_eq!(b.get("k").unwrap(), "3");
}

#[test]
fn empty_values_are_allowed() {
    assert_eq!(one("k=").value(), "");
    assert_eq!(one("k = ;p").value(), "");
}

#[test]
fn invalid_members_are_errors_strictly_and_dropped_lossily() {
    for (input, err) in [
        ("k=\"q\"", E::InvalidValue { member: 0 }),
        ("k=a b", E::InvalidValue { member: 0 }),
        ("k=a\\b", E::InvalidValue { member: 0 }),
        ("k", E::MissingEquals { member: 0 }),
        ("=v", E::InvalidKey { member: 0 }),
        ("k(=v", E::InvalidKey { member: 0 }),
        ("k=v;", E::InvalidProperty { member: 0 }),
        ("k=v;p=a b", E::InvalidProperty { member: 0 }),
        ("k=v;p q", E::InvalidProperty { member: 0 }),
    ] {
        assert_eq!(Baggage::parse(input), Err(err), "{input:?}");
        let (b, dropped) = Baggage::parse_lossy(&format!("a=1,{input},z=2"));
        assert_eq!(b.to_string(), "a=1,z=2", "{input:?}");
        assert_eq!(dropped.len(), 1);
    }
}

#[test]
fn repeated_fields_are_combined_and_limits_apply_to_the_combination() {
    let mut h = HeaderMap::new();
    let half: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
    h.append("baggage", half.join(",").parse().unwrap());
    let other: Vec<String> = (40..80).map(|i| format!("k{i}=v")).collect();
    h.append("baggage", other.join(",").parse().unwrap());
    let (b, dropped) = Baggage::from_headers(&h);
    assert_eq!(b.len(), limits::BAGGAGE_MAX_MEMBERS);
    assert_eq!(dropped.len(), 16);
    assert!(dropped.iter().all(|e| matches!(e, E::LimitExceeded { .. })));
    assert_eq!(b.iter().last().unwrap().key(), "k63");
}

#[test]
fn sixty_four_members_are_all_kept() {
    let s: Vec<String> = (0..64).map(|i| format!("key{i}=value")).collect();
    let b = Baggage::parse(&s.join(",")).unwrap();
    assert_eq!(b.to_string().split(',').count(), 64);
}

#[test]
fn exactly_8192_bytes_are_kept_one_more_drops_a_whole_member() {
    let long = "0123456789".repeat(819);
    let b = Baggage::parse(&format!("a={long}")).unwrap();
    assert_eq!(b.to_string().len(), 8192);
    let (b, dropped) = Baggage::parse_lossy(&format!("a={long}0"));
    assert!(b.is_empty());
    assert_eq!(dropped, [E::LimitExceeded { member: 0 }]);

    let many: Vec<String> = (0..512).map(|i| format!("{i:03}=0123456789a")).collect();
    let (b, dropped) = Baggage::parse_lossy(&many.join(","));
    assert_eq!(b.len(), 64, "the member limit bites first");
    assert_eq!(dropped.len(), 512 - 64);
}

#[test]
fn byte_limit_never_keeps_a_partial_member() {
    // 8 members of ~1100 bytes: only 7 fit in 8192; the 8th is dropped whole, a small 9th fits.
    let big: Vec<String> = (0..8).map(|i| format!("k{i}={}", "x".repeat(1100))).collect();
    let (b, dropped) = Baggage::parse_lossy(&format!("{},small=1", big.join(",")));
    assert!(b.wire_len() <= limits::BAGGAGE_MAX_BYTES);
    assert_eq!(b.len(), 8);
    assert!(b.get("k7").is_none());
    assert_eq!(b.get("small").unwrap(), "1");
    assert_eq!(dropped, [E::LimitExceeded { member: 7 }]);
    for m in b.iter() {
        assert!(m.key() == "small" || m.value().len() == 1100);
    }
}

#[test]
fn unchanged_members_are_forwarded_byte_for_byte() {
    let s = "a=%41;p = 1,b=%ff";
    let b = Baggage::parse(s).unwrap();
    assert_eq!(b.to_string(), "a=%41;p = 1,b=%ff");
}

#[test]
fn insert_replaces_the_key_and_drops_from_the_end_to_fit() {
    let full: Vec<String> = (0..64).map(|i| format!("k{i}=v")).collect();
    let mut b = Baggage::parse(&full.join(",")).unwrap();
    b.insert(Member::new("new", "1").unwrap()).unwrap();
    assert_eq!(b.len(), 64);
    assert_eq!(b.iter().next().unwrap().key(), "new");
    assert!(b.get("k63").is_none());
    b.insert(Member::new("k0", "changed").unwrap()).unwrap();
    assert_eq!(b.iter().filter(|m| m.key() == "k0").count(), 1);
    assert!(b.insert(Member::new("huge", &"x".repeat(9000)).unwrap()).is_err());
}

#[test]
fn non_ascii_field_is_dropped_other_fields_kept() {
    let mut h = HeaderMap::new();
    h.append("baggage", HeaderValue::from_bytes(b"a=\xe9").unwrap());
    h.append("baggage", HeaderValue::from_static("b=1"));
    let (b, dropped) = Baggage::from_headers(&h);
    assert_eq!(b.to_string(), "b=1");
    assert_eq!(dropped, [E::NotAscii]);
}
