//! One baggage list-member: `key=value;property;key=value`.
//!
//! A member keeps the exact text it arrived as, so a member this service does not understand
//! (or understands but did not change) is forwarded byte for byte, and the 8192-byte limit is
//! measured on what actually goes on the wire. The key, value and properties are positions in
//! that text; values are percent-decoded only when read, borrowing when nothing is encoded.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::baggage::BaggageError;
use crate::list::trim_ows;

/// What we percent-encode in values we write: everything but RFC 3986's unreserved
/// characters. The spec requires encoding everything outside `baggage-octet` and `%`, and
/// allows more; this set reproduces the W3C reference parser's output exactly.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// One baggage entry, as received or as built with [`Member::new`].
///
/// ```
/// use ctxflow_http::Member;
/// let m = Member::new("user", "Amélie").unwrap().with_property("ttl", Some("60")).unwrap();
/// assert_eq!(m.as_str(), "user=Am%C3%A9lie;ttl=60");
/// assert_eq!(m.value(), "Amélie");
/// assert_eq!(m.properties().next().unwrap().value.as_deref(), Some("60"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Member {
    wire: Box<str>,
    key: Range<usize>,
    value: Range<usize>,
    /// Where the `;property` list starts (the text's length when there is none).
    properties: usize,
}

/// A property of a baggage member: `;key` or `;key=value`. Properties have no meaning in the
/// spec; they are kept and forwarded.
///
/// ```
/// let m: ctxflow_http::Baggage = "k=v;flag;ttl=6%30".parse().unwrap();
/// let props: Vec<_> = m.member("k").unwrap().properties().collect();
/// assert_eq!((props[0].key, props[0].value.is_none()), ("flag", true));
/// assert_eq!(props[1].value.as_deref(), Some("60"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property<'a> {
    /// The property's key (a token, never decoded).
    pub key: &'a str,
    /// The percent-decoded value, `None` for a key-only property.
    pub value: Option<Cow<'a, str>>,
}

impl Member {
    /// A member with this key and value; the value is percent-encoded as needed. The key must
    /// be an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``).
    ///
    /// ```
    /// use ctxflow_http::Member;
    /// assert_eq!(Member::new("k", "a b,c").unwrap().as_str(), "k=a%20b%2Cc");
    /// assert!(Member::new("bad key", "v").is_err());
    /// ```
    pub fn new(key: &str, value: &str) -> Result<Member, BaggageError> {
        if !is_token(key) {
            return Err(BaggageError::InvalidKey { member: 0 });
        }
        Member::parse(&format!("{key}={}", utf8_percent_encode(value, ENCODE)), 0)
    }

    /// This member with one more property (its value percent-encoded as needed).
    ///
    /// ```
    /// let m = ctxflow_http::Member::new("k", "v").unwrap().with_property("flag", None).unwrap();
    /// assert_eq!(m.as_str(), "k=v;flag");
    /// ```
    pub fn with_property(self, key: &str, value: Option<&str>) -> Result<Member, BaggageError> {
        if !is_token(key) {
            return Err(BaggageError::InvalidProperty { member: 0 });
        }
        let text = match value {
            Some(v) => format!("{};{key}={}", self.wire, utf8_percent_encode(v, ENCODE)),
            None => format!("{};{key}", self.wire),
        };
        Member::parse(&text, 0)
    }

    /// Parses one list-member (already split from the list); `index` goes into errors.
    pub(crate) fn parse(text: &str, index: usize) -> Result<Member, BaggageError> {
        let wire = trim_ows(text);
        let properties = wire.find(';').unwrap_or(wire.len());
        let (key, value) = split_pair(wire, 0..properties).ok_or(BaggageError::MissingEquals { member: index })?;
        if !is_token(&wire[key.clone()]) {
            return Err(BaggageError::InvalidKey { member: index });
        }
        if !is_value(&wire[value.clone()]) {
            return Err(BaggageError::InvalidValue { member: index });
        }
        if !property_spans(wire, properties).all(|span| is_property(wire, span)) {
            return Err(BaggageError::InvalidProperty { member: index });
        }
        Ok(Member { wire: wire.into(), key, value, properties })
    }

    /// The key, as sent (keys are case-sensitive and never percent-decoded).
    ///
    /// ```
    /// assert_eq!(ctxflow_http::Member::new("Key", "v").unwrap().key(), "Key");
    /// ```
    pub fn key(&self) -> &str {
        &self.wire[self.key.clone()]
    }

    /// The value, percent-decoded; invalid UTF-8 sequences become U+FFFD.
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "k=%FFok".parse().unwrap();
    /// assert_eq!(b.get("k").unwrap(), "\u{FFFD}ok");
    /// ```
    pub fn value(&self) -> Cow<'_, str> {
        decode(self.raw_value())
    }

    /// The value exactly as sent (still percent-encoded).
    ///
    /// ```
    /// assert_eq!(ctxflow_http::Member::new("k", "a b").unwrap().raw_value(), "a%20b");
    /// ```
    pub fn raw_value(&self) -> &str {
        &self.wire[self.value.clone()]
    }

    /// The properties, in order (same-name properties are all kept).
    ///
    /// ```
    /// let m = ctxflow_http::Member::new("k", "v").unwrap().with_property("p", Some("1")).unwrap();
    /// assert_eq!(m.properties().count(), 1);
    /// ```
    pub fn properties(&self) -> impl Iterator<Item = Property<'_>> {
        property_spans(&self.wire, self.properties).map(|span| {
            let text = &self.wire[span.clone()];
            match split_pair(&self.wire, span) {
                Some((k, v)) => Property { key: &self.wire[k], value: Some(decode(&self.wire[v])) },
                None => Property { key: text, value: None },
            }
        })
    }

    /// The member as it goes on the wire.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::Member::new("k", "v").unwrap().as_str(), "k=v");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.wire
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.wire)
    }
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Member({:?})", self.wire)
    }
}

fn decode(raw: &str) -> Cow<'_, str> {
    percent_decode_str(raw).decode_utf8_lossy()
}

/// Splits `text[range]` at its first `=` into trimmed key and value ranges.
fn split_pair(text: &str, range: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
    let eq = range.start + text[range.clone()].find('=')?;
    Some((trimmed(text, range.start..eq), trimmed(text, eq + 1..range.end)))
}

/// The sub-range of `range` without surrounding OWS.
fn trimmed(text: &str, range: Range<usize>) -> Range<usize> {
    let inner = &text[range.clone()];
    let start = range.start + (inner.len() - inner.trim_start_matches([' ', '\t']).len());
    let end = range.end - (inner.len() - inner.trim_end_matches([' ', '\t']).len());
    start..end.max(start)
}

/// The trimmed ranges of the `;`-separated properties that start at `from`.
fn property_spans(text: &str, from: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = from;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let start = pos + 1; // skip the ';'
        let end = text[start..].find(';').map_or(text.len(), |i| start + i);
        pos = end;
        Some(trimmed(text, start..end))
    })
}

fn is_property(text: &str, span: Range<usize>) -> bool {
    match split_pair(text, span.clone()) {
        Some((k, v)) => is_token(&text[k]) && is_value(&text[v]),
        None => is_token(&text[span]),
    }
}

/// RFC 9110 `token`: one or more `tchar`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// `*baggage-octet`: printable ASCII except space, `"`, `,`, `;` and `\`.
fn is_value(s: &str) -> bool {
    s.bytes().all(|c| matches!(c, 0x21..=0x7e) && !matches!(c, b'"' | b',' | b';' | b'\\'))
}
