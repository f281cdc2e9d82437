//! One baggage list-member: `key=value;property;key=value`.
//!
//! A member is its exact text, so a member this service does not understand (or understands
//! but did not change) is forwarded byte for byte, and the 8192-byte limit is measured on what
//! actually goes on the wire. A [`Baggage`](crate::Baggage) keeps all its members in one
//! string; the members it hands out borrow from it, and the key, value and properties are
//! found in the text when asked for (a member is short, so finding them again costs less than
//! storing their positions). Values are percent-decoded only when read, borrowing when nothing
//! is encoded. Validation is one pass over the bytes with lookup tables.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::wire::list::{self, is_ows, next_comma};

/// What we percent-encode in values we write: everything but RFC 3986's unreserved
/// characters. The spec requires encoding everything outside `baggage-octet` and `%`, and
/// allows more; this set reproduces the W3C reference parser's output exactly.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Members a baggage list keeps at most (the spec's propagation minimum).
///
/// ```
/// assert_eq!(ctxflow_http::limits::BAGGAGE_MAX_MEMBERS, 64);
/// ```
pub const MAX_MEMBERS: usize = 64;
/// Bytes a baggage list keeps at most, commas included (the spec's propagation minimum).
///
/// ```
/// assert_eq!(ctxflow_http::limits::BAGGAGE_MAX_BYTES, 8192);
/// ```
pub const MAX_BYTES: usize = 8192;

/// Why a baggage member (or, for [`Baggage::parse`](crate::Baggage::parse), the whole list) was dropped.
///
/// ```
/// use ctxflow_http::{Baggage, BaggageError};
/// assert_eq!(Baggage::parse("k"), Err(BaggageError::MissingEquals { member: 0 }));
/// assert!(BaggageError::NotAscii.to_string().contains("ASCII"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaggageError {
    /// A field holds bytes that are not visible ASCII; the whole field was dropped.
    NotAscii,
    /// A member has no `=`.
    MissingEquals {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
    /// A key (or property key) is not an HTTP token.
    InvalidKey {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
    /// A value holds characters outside `baggage-octet` (space, `"`, `,`, `;`, `\`, controls,
    /// non-ASCII) that should have been percent-encoded.
    InvalidValue {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
    /// A property is empty or malformed.
    InvalidProperty {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
    /// Keeping this member would exceed 64 members or 8192 bytes; it was dropped whole.
    LimitExceeded {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
}

impl fmt::Display for BaggageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaggageError::NotAscii => f.write_str("baggage field is not visible ASCII"),
            BaggageError::MissingEquals { member } => write!(f, "baggage member {member} has no '='"),
            BaggageError::InvalidKey { member } => write!(f, "baggage member {member} has an invalid key"),
            BaggageError::InvalidValue { member } => write!(f, "baggage member {member} has an invalid value"),
            BaggageError::InvalidProperty { member } => {
                write!(f, "baggage member {member} has an invalid property")
            }
            BaggageError::LimitExceeded { member } => write!(
                f,
                "baggage member {member} dropped: the list would exceed {MAX_MEMBERS} members or {MAX_BYTES} bytes"
            ),
        }
    }
}

impl std::error::Error for BaggageError {}

/// One baggage entry: borrowed from a [`Baggage`](crate::Baggage) (see
/// [`Baggage::iter`](crate::Baggage::iter)), or owned when built with [`Member::new`].
///
/// ```
/// use ctxflow_http::Member;
/// let m = Member::new("user", "Amélie").unwrap().with_property("ttl", Some("60")).unwrap();
/// assert_eq!(m.as_str(), "user=Am%C3%A9lie;ttl=60");
/// assert_eq!(m.value(), "Amélie");
/// assert_eq!(m.properties().next().unwrap().value.as_deref(), Some("60"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Member<'a> {
    /// A valid list-member, trimmed of surrounding OWS.
    text: Cow<'a, str>,
}

/// A property of a baggage member: `;key` or `;key=value`. Properties have no meaning in the
/// spec; they are kept and forwarded.
///
/// ```
/// let m: ctxflow_http::Baggage = "k=v;flag;ttl=6%30".parse().unwrap();
/// let props: Vec<_> = m.member("k").unwrap().properties().map(|p| (p.key.to_owned(), p.value.map(|v| v.into_owned()))).collect();
/// assert_eq!(props, [("flag".to_owned(), None), ("ttl".to_owned(), Some("60".to_owned()))]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property<'a> {
    /// The property's key (a token, never decoded).
    pub key: &'a str,
    /// The percent-decoded value, `None` for a key-only property.
    pub value: Option<Cow<'a, str>>,
}

impl Member<'static> {
    /// A member with this key and value; the value is percent-encoded as needed. The key must
    /// be an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``).
    ///
    /// ```
    /// use ctxflow_http::Member;
    /// assert_eq!(Member::new("k", "a b,c").unwrap().as_str(), "k=a%20b%2Cc");
    /// assert!(Member::new("bad key", "v").is_err());
    /// ```
    pub fn new(key: &str, value: &str) -> Result<Self, BaggageError> {
        if !is_token(key.as_bytes()) {
            return Err(BaggageError::InvalidKey { member: 0 });
        }
        Member::owned(format!("{key}={}", utf8_percent_encode(value, ENCODE)))
    }

    fn owned(text: String) -> Result<Self, BaggageError> {
        check(&text)?;
        Ok(Member { text: Cow::Owned(text) })
    }
}

impl<'a> Member<'a> {
    /// A member over text that [`scan`] accepted.
    pub(crate) fn borrowed(text: &'a str) -> Self {
        Member { text: Cow::Borrowed(text) }
    }

    /// This member with one more property (its value percent-encoded as needed).
    ///
    /// ```
    /// let m = ctxflow_http::Member::new("k", "v").unwrap().with_property("flag", None).unwrap();
    /// assert_eq!(m.as_str(), "k=v;flag");
    /// ```
    pub fn with_property(&self, key: &str, value: Option<&str>) -> Result<Member<'static>, BaggageError> {
        if !is_token(key.as_bytes()) {
            return Err(BaggageError::InvalidProperty { member: 0 });
        }
        Member::owned(match value {
            Some(v) => format!("{};{key}={}", self.text, utf8_percent_encode(v, ENCODE)),
            None => format!("{};{key}", self.text),
        })
    }

    /// The same member, owning its text (to keep it after the baggage it came from is gone).
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "k=v".parse().unwrap();
    /// let m = b.iter().next().unwrap().into_owned();
    /// drop(b);
    /// assert_eq!(m.key(), "k");
    /// ```
    pub fn into_owned(self) -> Member<'static> {
        Member { text: Cow::Owned(self.text.into_owned()) }
    }

    /// The key, as sent (keys are case-sensitive and never percent-decoded).
    ///
    /// ```
    /// assert_eq!(ctxflow_http::Member::new("Key", "v").unwrap().key(), "Key");
    /// ```
    pub fn key(&self) -> &str {
        key_of(&self.text)
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
        raw_value_of(&self.text)
    }

    /// The properties, in order (same-name properties are all kept).
    ///
    /// ```
    /// let m = ctxflow_http::Member::new("k", "v").unwrap().with_property("p", Some("1")).unwrap();
    /// assert_eq!(m.properties().count(), 1);
    /// ```
    pub fn properties(&self) -> impl Iterator<Item = Property<'_>> {
        let text: &str = &self.text;
        property_spans(text).map(move |span| match split_pair(text, span.clone()) {
            Some((k, v)) => Property { key: &text[k], value: Some(decode(&text[v])) },
            None => Property { key: &text[span], value: None },
        })
    }

    /// The member as it goes on the wire.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::Member::new("k", "v").unwrap().as_str(), "k=v");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Member<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Member<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Member({:?})", self.text)
    }
}

/// Validates the member that starts at `start` (not OWS, not a comma) and finds where it ends
/// (see [`Scan`]); `index` goes into errors.
///
/// One pass, part by part: `key OWS = OWS value OWS`, then `; OWS pkey OWS [= OWS pvalue OWS]`
/// for each property, each part a run of one byte class, up to a comma or the end. The errors
/// keep the order of the rules: no `=` before the first `;`, then the key, the value, the
/// properties.
pub(crate) fn scan(b: &[u8], start: usize, index: usize) -> (usize, Result<usize, BaggageError>) {
    let fail = |at: usize, error: BaggageError| (next_comma(b, at), Err(error));
    let key_end = skip(b, start, TOKEN);
    // The usual member, `key=value` up to a comma or the end, in two runs; anything else (OWS,
    // properties, an error) goes through the rules below, which read it again from `key_end`.
    if key_end > start && b.get(key_end) == Some(&b'=') {
        let end = skip(b, key_end + 1, OCTET);
        if matches!(b.get(end), None | Some(b',')) {
            return (end, Ok(end));
        }
    }
    let eq = skip(b, key_end, OWS);
    if b.get(eq) != Some(&b'=') {
        let next = next_comma(b, eq);
        let head = &b[start..next];
        let head = &head[..memchr::memchr(b';', head).unwrap_or(head.len())];
        return if memchr::memchr(b'=', head).is_some() {
            (next, Err(BaggageError::InvalidKey { member: index }))
        } else {
            (next, Err(BaggageError::MissingEquals { member: index }))
        };
    }
    if key_end == start {
        return fail(eq, BaggageError::InvalidKey { member: index });
    }
    // `end`: just after the last part read so far (a value may be empty).
    let (mut end, mut at) = value(b, eq);
    match b.get(at) {
        None | Some(b',') => return (at, Ok(end)),
        Some(b';') => {}
        Some(_) => return fail(at, BaggageError::InvalidValue { member: index }),
    }
    while b.get(at) == Some(&b';') {
        let key_start = skip(b, at + 1, OWS);
        let key_end = skip(b, key_start, TOKEN);
        if key_end == key_start {
            return fail(key_start, BaggageError::InvalidProperty { member: index });
        }
        (end, at) = (key_end, skip(b, key_end, OWS));
        if b.get(at) == Some(&b'=') {
            (end, at) = value(b, at);
        }
        if !matches!(b.get(at), None | Some(b',' | b';')) {
            return fail(at, BaggageError::InvalidProperty { member: index });
        }
    }
    (at, Ok(end))
}

/// Reads `OWS *baggage-octet OWS` after the `=` at `eq`: the end of the value (just after the
/// `=` when it is empty), and where reading stopped.
fn value(b: &[u8], eq: usize) -> (usize, usize) {
    let start = skip(b, eq + 1, OWS);
    let end = skip(b, start, OCTET);
    (if end > start { end } else { eq + 1 }, skip(b, end, OWS))
}

/// Checks a whole member text (one built here, so no surrounding OWS).
fn check(text: &str) -> Result<(), BaggageError> {
    match scan(text.as_bytes(), 0, 0) {
        (_, Err(e)) => Err(e),
        (next, Ok(end)) if next == text.len() && end == text.len() => Ok(()),
        _ => Err(BaggageError::InvalidValue { member: 0 }),
    }
}

/// The first position from `from` on whose byte is not in `class`.
fn skip(b: &[u8], from: usize, class: u8) -> usize {
    list::skip(b, from, |c| CLASS[usize::from(c)] & class != 0)
}

/// The key of a valid member.
pub(crate) fn key_of(text: &str) -> &str {
    let b = text.as_bytes();
    let start = skip(b, 0, OWS);
    &text[start..skip(b, start, TOKEN)]
}

/// The still-encoded value of a valid member.
pub(crate) fn raw_value_of(text: &str) -> &str {
    let b = text.as_bytes();
    let start = skip(b, skip(b, skip(b, skip(b, 0, OWS), TOKEN), OWS) + 1, OWS).min(b.len());
    &text[start..skip(b, start, OCTET)]
}

pub(crate) fn decode(raw: &str) -> Cow<'_, str> {
    percent_decode_str(raw).decode_utf8_lossy()
}

/// Length of `key=value`, before the first `;`.
fn head_len(text: &str) -> usize {
    text.bytes().position(|c| c == b';').unwrap_or(text.len())
}

/// Splits `text[range]` at its first `=` into trimmed key and value ranges.
fn split_pair(text: &str, range: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
    let eq = range.start + text.as_bytes()[range.clone()].iter().position(|&c| c == b'=')?;
    Some((trimmed(text, range.start..eq), trimmed(text, eq + 1..range.end)))
}

/// The sub-range of `range` without surrounding OWS.
fn trimmed(text: &str, range: Range<usize>) -> Range<usize> {
    let inner = &text.as_bytes()[range.clone()];
    let start = range.start + inner.iter().take_while(|&&c| is_ows(c)).count();
    let end = range.end - inner.iter().rev().take_while(|&&c| is_ows(c)).count();
    start..end.max(start)
}

/// The trimmed ranges of the `;`-separated properties after the first `;`.
fn property_spans(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = head_len(text);
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let start = pos + 1; // skip the ';'
        let end = text.as_bytes()[start..].iter().position(|&c| c == b';').map_or(text.len(), |i| start + i);
        pos = end;
        Some(trimmed(text, start..end))
    })
}

/// Byte classes, one table lookup per byte.
const TOKEN: u8 = 1;
const OCTET: u8 = 2;
const OWS: u8 = 4;
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        // RFC 9110 tchar.
        if c.is_ascii_alphanumeric()
            || matches!(c, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-')
            || matches!(c, b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
        {
            table[i] |= TOKEN;
        }
        if is_ows(c) {
            table[i] |= OWS;
        }
        // baggage-octet: printable ASCII except space, `"`, `,`, `;` and `\`.
        if matches!(c, 0x21..=0x7e) && !matches!(c, b'"' | b',' | b';' | b'\\') {
            table[i] |= OCTET;
        }
        i += 1;
    }
    table
};

/// RFC 9110 `token`: one or more `tchar`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && skip(s, 0, TOKEN) == s.len()
}
