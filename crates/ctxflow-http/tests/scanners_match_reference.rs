//! The parsers find and validate list members in one pass over the bytes (for speed). This
//! checks them against a plain reading of the same rules, written the obvious way (split at
//! commas, trim, split each part, check it), on arbitrary input: same members kept, same
//! errors, in the same order, for single values and for header maps of several fields.

use ctxflow_http::{Baggage, BaggageError, TraceState, TraceStateError};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

fn is_octets(s: &str) -> bool {
    s.bytes().all(|c| matches!(c, 0x21..=0x7e) && !b"\",;\\".contains(&c))
}

/// The fields as the parsers see them: the text, or `None` when not visible ASCII.
fn texts(fields: &[Vec<u8>]) -> Vec<Option<String>> {
    fields.iter().map(|f| HeaderValue::from_bytes(f).unwrap().to_str().ok().map(str::to_owned)).collect()
}

fn reference_member(m: &str, member: usize) -> Result<(), BaggageError> {
    let mut parts = m.split(';');
    let (key, value) = parts.next().unwrap().split_once('=').ok_or(BaggageError::MissingEquals { member })?;
    if !is_token(trim(key)) {
        return Err(BaggageError::InvalidKey { member });
    }
    if !is_octets(trim(value)) {
        return Err(BaggageError::InvalidValue { member });
    }
    let property_ok = |p: &str| match trim(p).split_once('=') {
        Some((k, v)) => is_token(trim(k)) && is_octets(trim(v)),
        None => is_token(trim(p)),
    };
    if !parts.all(property_ok) {
        return Err(BaggageError::InvalidProperty { member });
    }
    Ok(())
}

fn reference_baggage(fields: &[Option<String>]) -> (String, Vec<BaggageError>) {
    let (mut kept, mut bytes, mut errors, mut index) = (Vec::new(), 0, Vec::new(), 0);
    for field in fields {
        let Some(text) = field else {
            errors.push(BaggageError::NotAscii);
            index += 1;
            continue;
        };
        for m in text.split(',').map(trim).filter(|m| !m.is_empty()) {
            match reference_member(m, index) {
                Err(e) => errors.push(e),
                Ok(()) => {
                    let added = m.len() + usize::from(!kept.is_empty());
                    if kept.len() < 64 && bytes + added <= 8192 {
                        kept.push(m.to_owned());
                        bytes += added;
                    } else {
                        errors.push(BaggageError::LimitExceeded { member: index });
                    }
                }
            }
            index += 1;
        }
    }
    (kept.join(","), errors)
}

fn reference_tracestate(fields: &[Option<String>]) -> Result<String, TraceStateError> {
    let mut kept = Vec::new();
    for field in fields {
        let text = field.as_deref().ok_or(TraceStateError::NotAscii)?;
        for m in text.split(',').map(trim).filter(|m| !m.is_empty()) {
            let member = kept.len();
            if member == 32 {
                return Err(TraceStateError::TooManyMembers);
            }
            let (key, value) = m.split_once('=').ok_or(TraceStateError::MissingEquals { member })?;
            let key_ok = (1..=256).contains(&key.len())
                && key.bytes().next().is_some_and(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9'))
                && key.bytes().all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@'));
            if !key_ok {
                return Err(TraceStateError::InvalidKey { member });
            }
            let value_ok = (1..=256).contains(&value.len())
                && !value.ends_with(' ')
                && value.bytes().all(|c| matches!(c, 0x20..=0x7e) && c != b',' && c != b'=');
            if !value_ok {
                return Err(TraceStateError::InvalidValue { member });
            }
            kept.push(m.to_owned());
        }
    }
    Ok(kept.join(","))
}

/// Mostly the characters the two grammars care about.
fn listish() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => canonicalish(),
        4 => "[a-zA-Z0-9=,; \t%@*/_.\"\\\\-]{0,60}",
        1 => "([a-z]{1,3}[=]?[ -~]{0,6}[,;]?){0,12}",
        1 => ".{0,30}",
    ]
}

/// Lists as tracers write them (no spaces, no empty members), often one byte away from that,
/// with member counts around 32 and 64 and keys and values around 256 characters: what the
/// fast path for canonical fields (`MemberList::canonical`, `src/wire/list.rs`) takes or leaves, at
/// every limit it checks.
fn canonicalish() -> impl Strategy<Value = String> {
    let long = prop_oneof!["[a-z]{254,258}=[a-z]{1,2}", "[a-z]=[a-z]{254,258}"];
    let tracestate = prop_oneof![8 => "[a-z0-9][a-z0-9_*/@-]{0,3}=[a-zA-Z0-9._~@/*-]{1,4}", 1 => long.clone()];
    let baggage = prop_oneof![
        8 => "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,4}=[a-zA-Z0-9%._~=-]{0,4}(;[a-z]{1,2}(=[a-z0-9%]{0,2})?){0,2}",
        1 => long,
    ];
    let count = prop_oneof![1..6usize, 30..35usize, 62..67usize];
    let members = count.prop_flat_map(move |n| {
        prop_oneof![prop::collection::vec(tracestate.clone(), n), prop::collection::vec(baggage.clone(), n)]
    });
    let edit = (any::<prop::sample::Index>(), prop::sample::select(&b" \t,;=\"\\A@%\x7f"[..]));
    (members, prop::option::of(edit)).prop_map(|(members, edit)| {
        let mut s = members.join(",").into_bytes();
        if let Some((at, byte)) = edit {
            let i = at.index(s.len());
            s[i] = byte;
        }
        String::from_utf8(s).unwrap()
    })
}

fn fields() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let field = prop_oneof![
        4 => listish().prop_map(|s| s.into_bytes()),
        1 => prop::collection::vec(prop_oneof![0x20u8..=0x7e, Just(b'\t'), 0x80u8..=0xff], 0..30),
    ];
    prop::collection::vec(field.prop_filter("a header value", |f| HeaderValue::from_bytes(f).is_ok()), 0..4)
}

fn header_map(name: &str, fields: &[Vec<u8>]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for f in fields {
        map.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_bytes(f).unwrap());
    }
    map
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn baggage_value_matches_the_reference(s in listish()) {
        let (b, errors) = Baggage::parse_lossy(&s);
        let (text, expected) = reference_baggage(&[Some(s.clone())]);
        prop_assert_eq!(b.as_str(), text.as_str());
        prop_assert_eq!(errors, expected);
    }

    #[test]
    fn baggage_fields_match_the_reference(fields in fields()) {
        let (b, errors) = Baggage::from_headers(&header_map("baggage", &fields));
        let (text, expected) = reference_baggage(&texts(&fields));
        prop_assert_eq!(b.as_str(), text.as_str());
        prop_assert_eq!(errors, expected);
    }

    #[test]
    fn tracestate_value_matches_the_reference(s in listish()) {
        let parsed = TraceState::parse(&s).map(|t| t.as_str().to_owned());
        prop_assert_eq!(parsed, reference_tracestate(&[Some(s.clone())]));
    }

    #[test]
    fn tracestate_fields_match_the_reference(fields in fields()) {
        let parsed = TraceState::from_headers(&header_map("tracestate", &fields)).map(|t| t.as_str().to_owned());
        prop_assert_eq!(parsed, reference_tracestate(&texts(&fields)));
    }

    #[test]
    fn tracestate_insert_matches_the_reference(key in "[a-z0-9 =,A@]{0,5}", value in "[ -~\t]{0,6}") {
        let mut ts = TraceState::new();
        let inserted = ts.insert(&key, &value).map(|()| ts.as_str().to_owned());
        // insert takes the key and value exactly as given: no trimming.
        let member = format!("{key}={value}");
        let expected = match reference_tracestate(&[Some(member.clone())]) {
            // One member: a comma in the key or value would make the text a list of two.
            Ok(text) if text == member && !member.contains(',') => Ok(text),
            Ok(_) => Err(TraceStateError::InvalidValue { member: 0 }),
            Err(e) => Err(e),
        };
        prop_assert_eq!(inserted.is_ok(), expected.is_ok(), "{:?} vs {:?}", inserted, expected);
        if let Ok(text) = inserted {
            prop_assert_eq!(text, member);
        }
    }
}
