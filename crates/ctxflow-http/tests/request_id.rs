//! Request ids: the accepted shape (1 to 128 visible ASCII characters), and ids that behave the
//! same whether they are stored inline (up to 38 characters) or shared (longer).

use std::collections::HashSet;

use ctxflow_http::{RequestId, RequestIdError, limits};
use http::{HeaderMap, HeaderValue};

#[test]
fn ids_of_every_accepted_length_read_back_unchanged() {
    for len in [1, 2, 32, 36, 37, 38, 39, 40, 64, 127, limits::REQUEST_ID_MAX_LEN] {
        let text: String = (0..len).map(|i| char::from(b'!' + (i % 94) as u8)).collect();
        let id: RequestId = text.parse().unwrap();
        assert_eq!(id.as_str(), text, "length {len}");
        assert_eq!(id.to_string(), text);
        assert_eq!(id.clone().as_str(), text);
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_str(&text).unwrap());
        assert_eq!(RequestId::from_headers(&headers), Ok(Some(id)));
    }
}

#[test]
fn anything_else_is_refused() {
    let too_long = "x".repeat(limits::REQUEST_ID_MAX_LEN + 1);
    for bad in ["", " ", "two words", "tab\there", "é", too_long.as_str(), "new\nline"] {
        assert_eq!(bad.parse::<RequestId>(), Err(RequestIdError::Invalid), "{bad:?}");
    }
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", HeaderValue::from_bytes(b"caf\xe9").unwrap());
    assert_eq!(RequestId::from_headers(&headers), Err(RequestIdError::Invalid));
    headers.insert("x-request-id", HeaderValue::from_static("a"));
    headers.append("x-request-id", HeaderValue::from_static("b"));
    assert_eq!(RequestId::from_headers(&headers), Err(RequestIdError::Duplicate));
    assert_eq!(RequestId::from_headers(&HeaderMap::new()), Ok(None));
}

#[test]
fn equality_order_and_hash_follow_the_text_for_short_and_long_ids() {
    let short = "a".repeat(38);
    let long = "a".repeat(39);
    let (s, l): (RequestId, RequestId) = (short.parse().unwrap(), long.parse().unwrap());
    assert!(s < l, "the shorter prefix sorts first, as the strings do");
    assert_eq!(s.cmp(&l), short.cmp(&long));
    assert_eq!(l, long.parse().unwrap());
    assert_ne!(s, l);
    let set: HashSet<RequestId> = [s.clone(), l.clone(), s.clone(), long.parse().unwrap()].into_iter().collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn generated_ids_are_32_lowercase_hex_digits_and_distinct() {
    let ids: HashSet<String> = (0..10_000).map(|_| RequestId::generate().to_string()).collect();
    assert_eq!(ids.len(), 10_000);
    for id in ids.iter().take(100) {
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')), "{id}");
    }
}
