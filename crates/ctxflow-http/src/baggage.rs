//! The `baggage` header: user key/value pairs that travel with a request across services.
//!
//! A [`Baggage`] always fits the spec's propagation limits (64 members, 8192 bytes): the
//! limits are enforced when members come in, so whatever reaches a handler can be forwarded
//! unchanged and complete. The spec leaves invalid input undefined; we drop the offending
//! member only (reporting why) and keep the rest, because one bad entry from one upstream
//! service should not erase every other service's baggage.

use std::borrow::Cow;
use std::fmt;

use crate::list::{members, trim_ows};
use crate::member::Member;

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

/// A baggage list: members in order, within 64 members and 8192 bytes.
///
/// ```
/// use ctxflow_http::Baggage;
/// let b: Baggage = "userId=alice, serverNode=DF%2028;ttl=3, isProduction=false".parse().unwrap();
/// assert_eq!(b.get("serverNode").unwrap(), "DF 28");
/// assert_eq!(b.len(), 3);
/// assert_eq!(b.to_string(), "userId=alice,serverNode=DF%2028;ttl=3,isProduction=false");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Baggage {
    members: Vec<Member>,
    /// Wire size: members plus the commas between them.
    bytes: usize,
}

/// Why a baggage member (or, for [`Baggage::parse`], the whole list) was dropped.
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

impl Baggage {
    /// The empty list.
    ///
    /// ```
    /// assert!(ctxflow_http::Baggage::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        Baggage { members: Vec::new(), bytes: 0 }
    }

    /// Parses one field value strictly: the first invalid member, or going over the limits,
    /// is an error.
    ///
    /// ```
    /// use ctxflow_http::{Baggage, BaggageError};
    /// assert_eq!(Baggage::parse("a=1,b=\"q\""), Err(BaggageError::InvalidValue { member: 1 }));
    /// assert_eq!(Baggage::parse("k=v=w").unwrap().get("k").unwrap(), "v=w");
    /// ```
    pub fn parse(value: &str) -> Result<Self, BaggageError> {
        let (baggage, errors) = Self::parse_lossy(value);
        match errors.first() {
            Some(e) => Err(*e),
            None => Ok(baggage),
        }
    }

    /// Parses one field value, dropping invalid members and members beyond the limits; returns
    /// what was kept and why each dropped member was dropped.
    ///
    /// ```
    /// let (b, dropped) = ctxflow_http::Baggage::parse_lossy("a=1,bad key=2,c=3");
    /// assert_eq!(b.to_string(), "a=1,c=3");
    /// assert_eq!(dropped.len(), 1);
    /// ```
    pub fn parse_lossy(value: &str) -> (Self, Vec<BaggageError>) {
        Self::from_members(value.split(',').map(trim_ows).filter(|m| !m.is_empty()).map(Ok))
    }

    /// Reads every `baggage` field of a header map, combined in order; limits apply to the
    /// combination. Returns what was kept and why each dropped member was dropped.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.append("baggage", "userId=alice".parse().unwrap());
    /// headers.append("baggage", "serverNode=DF%2028,isProduction=false".parse().unwrap());
    /// let (b, dropped) = ctxflow_http::Baggage::from_headers(&headers);
    /// assert_eq!((b.len(), dropped.len()), (3, 0));
    /// ```
    pub fn from_headers(headers: &http::HeaderMap) -> (Self, Vec<BaggageError>) {
        Self::from_members(members(headers.get_all(crate::header::BAGGAGE)))
    }

    fn from_members<'a>(list: impl Iterator<Item = Result<&'a str, ()>>) -> (Self, Vec<BaggageError>) {
        let mut baggage = Baggage::new();
        let mut errors = Vec::new();
        for (index, member) in list.enumerate() {
            let parsed = member.map_err(|()| BaggageError::NotAscii).and_then(|m| Member::parse(m, index));
            let kept = parsed.and_then(|m| {
                if baggage.fits(&m) {
                    baggage.push_back(m);
                    Ok(())
                } else {
                    Err(BaggageError::LimitExceeded { member: index })
                }
            });
            if let Err(e) = kept {
                errors.push(e);
            }
        }
        (baggage, errors)
    }

    fn added_bytes(&self, member: &Member) -> usize {
        member.as_str().len() + usize::from(!self.members.is_empty())
    }

    fn fits(&self, member: &Member) -> bool {
        self.members.len() < MAX_MEMBERS && self.bytes + self.added_bytes(member) <= MAX_BYTES
    }

    fn push_back(&mut self, member: Member) {
        self.bytes += self.added_bytes(&member);
        self.members.push(member);
    }

    /// Puts `member` first, replacing every member with the same key. If the list would then
    /// exceed the limits, members are dropped from the end (never partially). Fails only when
    /// `member` alone is over 8192 bytes.
    ///
    /// ```
    /// use ctxflow_http::{Baggage, Member};
    /// let mut b: Baggage = "a=1,b=2,a=3".parse().unwrap();
    /// b.insert(Member::new("a", "9").unwrap()).unwrap();
    /// assert_eq!(b.to_string(), "a=9,b=2");
    /// ```
    pub fn insert(&mut self, member: Member) -> Result<(), BaggageError> {
        if member.as_str().len() > MAX_BYTES {
            return Err(BaggageError::LimitExceeded { member: 0 });
        }
        let old = std::mem::take(self);
        self.push_back(member);
        let key = self.members[0].key().to_owned();
        for m in old.members.into_iter().filter(|m| m.key() != key) {
            if !self.fits(&m) {
                break;
            }
            self.push_back(m);
        }
        Ok(())
    }

    /// Removes every member with this key.
    ///
    /// ```
    /// let mut b: ctxflow_http::Baggage = "a=1,b=2".parse().unwrap();
    /// b.remove("a");
    /// assert_eq!(b.to_string(), "b=2");
    /// ```
    pub fn remove(&mut self, key: &str) {
        let old = std::mem::take(self);
        for m in old.members.into_iter().filter(|m| m.key() != key) {
            self.push_back(m);
        }
    }

    /// The decoded value of the first member with this key.
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "k=a%20b,k=2".parse().unwrap();
    /// assert_eq!(b.get("k").unwrap(), "a b");
    /// assert!(b.get("K").is_none());
    /// ```
    pub fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        self.member(key).map(Member::value)
    }

    /// The first member with this key.
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "k=v;p".parse().unwrap();
    /// assert_eq!(b.member("k").unwrap().as_str(), "k=v;p");
    /// ```
    pub fn member(&self, key: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.key() == key)
    }

    /// The members in order.
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "a=1,b=2".parse().unwrap();
    /// assert_eq!(b.iter().map(|m| m.key()).collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &Member> {
        self.members.iter()
    }

    /// Number of members.
    ///
    /// ```
    /// assert_eq!("a=1,b=2".parse::<ctxflow_http::Baggage>().unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the list is empty (an empty baggage is not sent).
    ///
    /// ```
    /// assert!("".parse::<ctxflow_http::Baggage>().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Size on the wire in bytes (members and commas).
    ///
    /// ```
    /// assert_eq!("a=1, b=2".parse::<ctxflow_http::Baggage>().unwrap().wire_len(), "a=1,b=2".len());
    /// ```
    pub fn wire_len(&self) -> usize {
        self.bytes
    }
}

impl std::str::FromStr for Baggage {
    type Err = BaggageError;

    fn from_str(s: &str) -> Result<Self, BaggageError> {
        Self::parse(s)
    }
}

impl fmt::Display for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.members.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(m.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.members).finish()
    }
}
