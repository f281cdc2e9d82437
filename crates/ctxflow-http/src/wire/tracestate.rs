//! The `tracestate` header: vendor key/value pairs that travel with a `traceparent`.
//!
//! The list is kept as the normalized text it will be forwarded as (`k=v,k=v`, no OWS), so
//! forwarding an unchanged tracestate is a copy and needs no re-validation. Validation is all
//! or nothing: the W3C harness, and every vendor that reads what we send, expects a list with
//! one bad member or more than 32 members to be discarded whole, not repaired or truncated.

use std::fmt;

use crate::wire::header_fields::Fields;
use crate::wire::list::{MemberList, is_ows, members, next_comma, skip, split_list};

/// Most members a tracestate may have.
///
/// ```
/// assert_eq!(ctxflow_http::limits::TRACESTATE_MAX_MEMBERS, 32);
/// ```
pub const MAX_MEMBERS: usize = 32;
/// Longest key: `[a-z0-9]` then up to 255 of `[a-z0-9_-*/@]` (the Level 2 grammar, which
/// accepts every Level 1 key).
///
/// ```
/// assert_eq!(ctxflow_http::limits::TRACESTATE_MAX_KEY_LEN, 256);
/// ```
pub const MAX_KEY_LEN: usize = 256;
/// Longest value: 1 to 256 printable ASCII characters except `,` and `=`, not ending in a space.
///
/// ```
/// assert_eq!(ctxflow_http::limits::TRACESTATE_MAX_VALUE_LEN, 256);
/// ```
pub const MAX_VALUE_LEN: usize = 256;

/// A validated tracestate list, in order, at most 32 members.
///
/// ```
/// use ctxflow_http::TraceState;
/// let mut ts: TraceState = "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE".parse().unwrap();
/// ts.insert("acme", "x").unwrap();
/// assert_eq!(ts.to_string(), "acme=x,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
/// assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
/// assert!("FOO=1".parse::<TraceState>().is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct TraceState {
    /// `k=v,k=v`, every member valid.
    list: MemberList,
}

/// The longest list the limits allow: `MAX_MEMBERS` members of the longest key and value.
const MAX_BYTES: usize = MAX_MEMBERS * (MAX_KEY_LEN + 1 + MAX_VALUE_LEN + 1);

/// Why a tracestate list was discarded (the whole list: see the module docs).
///
/// ```
/// use ctxflow_http::{TraceState, TraceStateError};
/// assert_eq!(TraceState::parse("a=1,b=x=y"), Err(TraceStateError::InvalidValue { member: 1 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceStateError {
    /// A field holds bytes that are not visible ASCII.
    NotAscii,
    /// More than 32 members in the combined list.
    TooManyMembers,
    /// A member has no `=`.
    MissingEquals {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
    /// A key is empty, too long, or uses characters outside `[a-z0-9_-*/@]` (or does not start
    /// with `[a-z0-9]`).
    InvalidKey {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
    /// A value is empty, too long, ends in a space, or uses `,`, `=` or non-printable characters.
    InvalidValue {
        /// Zero-based position of the member in the combined list.
        member: usize,
    },
}

impl fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceStateError::NotAscii => f.write_str("tracestate is not visible ASCII"),
            TraceStateError::TooManyMembers => write!(f, "tracestate has more than {MAX_MEMBERS} members"),
            TraceStateError::MissingEquals { member } => write!(f, "tracestate member {member} has no '='"),
            TraceStateError::InvalidKey { member } => write!(f, "tracestate member {member} has an invalid key"),
            TraceStateError::InvalidValue { member } => write!(f, "tracestate member {member} has an invalid value"),
        }
    }
}

impl std::error::Error for TraceStateError {}

impl TraceState {
    /// The empty list.
    ///
    /// ```
    /// assert!(ctxflow_http::TraceState::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        TraceState { list: MemberList::new() }
    }

    /// Parses one field value (a comma-separated list; empty members and OWS are ignored).
    ///
    /// ```
    /// let ts = ctxflow_http::TraceState::parse(" a=1 ,, b=2 ").unwrap();
    /// assert_eq!(ts.as_str(), "a=1,b=2");
    /// ```
    pub fn parse(value: &str) -> Result<Self, TraceStateError> {
        if let Some(list) = MemberList::canonical(value.as_bytes(), scan, MAX_MEMBERS, MAX_BYTES) {
            return Ok(TraceState { list });
        }
        Self::from_members(split_list(value, scan), value.len())
    }

    /// Reads every `tracestate` field of a header map, combined in order.
    ///
    /// ```
    /// use ctxflow_http::TraceState;
    /// let mut headers = http::HeaderMap::new();
    /// headers.append("tracestate", "foo=1,bar=2".parse().unwrap());
    /// headers.append("tracestate", "".parse().unwrap());
    /// headers.append("tracestate", "baz=3".parse().unwrap());
    /// assert_eq!(TraceState::from_headers(&headers).unwrap().as_str(), "foo=1,bar=2,baz=3");
    /// ```
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Self, TraceStateError> {
        Self::from_fields(&Fields::of(headers, &crate::header::TRACESTATE))
    }

    pub(crate) fn from_fields(fields: &Fields<'_>) -> Result<Self, TraceStateError> {
        if let Some(field) = fields.single()
            && let Some(list) = MemberList::canonical(field.as_bytes(), scan, MAX_MEMBERS, MAX_BYTES)
        {
            return Ok(TraceState { list });
        }
        let len = fields.iter().map(|f| f.len() + 1).sum();
        Self::from_members(members(fields.iter(), scan, TraceStateError::NotAscii), len)
    }

    /// `len`: an upper bound of the normalized text's length (so it is allocated once).
    fn from_members<'a>(
        list: impl Iterator<Item = (usize, Result<&'a str, TraceStateError>)>,
        len: usize,
    ) -> Result<Self, TraceStateError> {
        let mut state = TraceState { list: MemberList::with_capacity(len) };
        for (index, member) in list {
            // A field that is not ASCII is reported as such, even in 33rd place.
            if member == Err(TraceStateError::NotAscii) {
                return Err(TraceStateError::NotAscii);
            }
            if index == MAX_MEMBERS {
                return Err(TraceStateError::TooManyMembers);
            }
            state.list.push(member?);
        }
        Ok(state)
    }

    /// Adds or updates `key` as the left-most member, as the spec asks of a vendor that changes
    /// its entry. Other entries for `key` are removed; if that makes 33 members, the right-most
    /// is dropped.
    ///
    /// ```
    /// let mut ts = ctxflow_http::TraceState::parse("a=1,b=2,a=3").unwrap();
    /// ts.insert("a", "9").unwrap();
    /// assert_eq!(ts.as_str(), "a=9,b=2");
    /// assert!(ts.insert("b", "").is_err());
    /// ```
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), TraceStateError> {
        let member = format!("{key}={value}");
        match scan(member.as_bytes(), 0, 0) {
            (_, Err(e)) => return Err(e),
            (next, Ok(end)) if next == member.len() && end == member.len() => {}
            _ => return Err(TraceStateError::InvalidValue { member: 0 }),
        }
        let mut next = MemberList::new();
        next.push(&member);
        for m in self.list.members().filter(|m| key_of(m) != key).take(MAX_MEMBERS - 1) {
            next.push(m);
        }
        self.list = next;
        Ok(())
    }

    /// Removes every member with this key.
    ///
    /// ```
    /// let mut ts = ctxflow_http::TraceState::parse("a=1,b=2").unwrap();
    /// ts.remove("a");
    /// assert_eq!(ts.as_str(), "b=2");
    /// ```
    pub fn remove(&mut self, key: &str) {
        let mut next = MemberList::new();
        for m in self.list.members().filter(|m| key_of(m) != key) {
            next.push(m);
        }
        self.list = next;
    }

    /// The value of the first member with this key.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::TraceState::parse("a=1").unwrap().get("a"), Some("1"));
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The members in order, as `(key, value)`.
    ///
    /// ```
    /// let ts = ctxflow_http::TraceState::parse("a=1, b=2").unwrap();
    /// assert_eq!(ts.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.list.members().filter_map(|m| m.split_once('='))
    }

    /// Number of members.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::TraceState::parse("a=1,b=2").unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no members (an empty tracestate is not sent).
    ///
    /// ```
    /// assert!(ctxflow_http::TraceState::parse("").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.list.len() == 0
    }

    /// The list as it is sent: `k=v,k=v`.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::TraceState::parse("a=1").unwrap().as_str(), "a=1");
    /// ```
    pub fn as_str(&self) -> &str {
        self.list.as_str()
    }
}

impl std::str::FromStr for TraceState {
    type Err = TraceStateError;

    fn from_str(s: &str) -> Result<Self, TraceStateError> {
        Self::parse(s)
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceState({:?})", self.as_str())
    }
}

/// Byte classes of the tracestate grammar, one table lookup per byte.
const KEY: u8 = 1;
const VALUE: u8 = 2;
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        if matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@') {
            table[i] |= KEY;
        }
        if matches!(c, 0x20..=0x7e) && c != b',' && c != b'=' {
            table[i] |= VALUE;
        }
        i += 1;
    }
    table
};

/// Validates the member that starts at `start` and finds where it ends (see [`Scan`]):
/// `key=value`, key `[a-z0-9][a-z0-9_-*/@]{0,255}`, value 1–256 of 0x20–0x7E except `,` and
/// `=` (trailing OWS is not part of it). A missing `=` is reported before a bad key.
fn scan(b: &[u8], start: usize, index: usize) -> (usize, Result<usize, TraceStateError>) {
    let key_end = skip(b, start, |c| CLASS[usize::from(c)] & KEY != 0);
    if b.get(key_end) != Some(&b'=') {
        let next = next_comma(b, key_end);
        return if memchr::memchr(b'=', &b[start..next]).is_some() {
            (next, Err(TraceStateError::InvalidKey { member: index }))
        } else {
            (next, Err(TraceStateError::MissingEquals { member: index }))
        };
    }
    if key_end == start || key_end - start > MAX_KEY_LEN || !matches!(b[start], b'a'..=b'z' | b'0'..=b'9') {
        return (next_comma(b, key_end), Err(TraceStateError::InvalidKey { member: index }));
    }
    let value_start = key_end + 1;
    let stop = skip(b, value_start, |c| CLASS[usize::from(c)] & VALUE != 0);
    let next = skip(b, stop, is_ows);
    // The value ends before trailing spaces (its own characters include the space).
    let end = value_start + b[value_start..stop].iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    if next < b.len() && b[next] != b',' {
        return (next_comma(b, next), Err(TraceStateError::InvalidValue { member: index }));
    }
    if end == value_start || end - value_start > MAX_VALUE_LEN {
        return (next, Err(TraceStateError::InvalidValue { member: index }));
    }
    (next, Ok(end))
}

/// The key of a valid member.
fn key_of(member: &str) -> &str {
    member.split_once('=').map_or(member, |(k, _)| k)
}
