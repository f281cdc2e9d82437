//! The `baggage` header: user key/value pairs that travel with a request across services.
//!
//! A [`Baggage`] always fits the spec's propagation limits (64 members, 8192 bytes): the
//! limits are enforced when members come in, so whatever reaches a handler can be forwarded
//! unchanged and complete. The spec leaves invalid input undefined; we drop the offending
//! member only (reporting why) and keep the rest, because one bad entry from one upstream
//! service should not erase every other service's baggage.

use std::borrow::Cow;
use std::fmt;

use crate::wire::header_fields::Fields;
use crate::wire::list::{MemberList, members, split_list};
use crate::wire::member::{BaggageError, MAX_BYTES, MAX_MEMBERS, Member, decode, key_of, raw_value_of, scan};

/// A baggage list: members in order, within 64 members and 8192 bytes.
///
/// The members are kept as one string, exactly the text that is forwarded (`k=v,k=v;p`), so a
/// list costs one allocation however many members it has, and forwarding it is a copy.
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
    /// Valid members joined by commas: the wire form.
    list: MemberList,
}

impl Baggage {
    /// The empty list.
    ///
    /// ```
    /// assert!(ctxflow_http::Baggage::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        Baggage { list: MemberList::new() }
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
        if let Some(list) = MemberList::canonical(value.as_bytes(), scan, MAX_MEMBERS, MAX_BYTES) {
            return (Baggage { list }, Vec::new());
        }
        Self::from_members(split_list(value, scan), value.len())
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
        Self::from_fields(&Fields::of(headers, &crate::header::BAGGAGE))
    }

    pub(crate) fn from_fields(fields: &Fields<'_>) -> (Self, Vec<BaggageError>) {
        if let Some(field) = fields.single()
            && let Some(list) = MemberList::canonical(field.as_bytes(), scan, MAX_MEMBERS, MAX_BYTES)
        {
            return (Baggage { list }, Vec::new());
        }
        let len: usize = fields.iter().map(|f| f.len() + 1).sum();
        if len == 0 {
            return (Baggage::new(), Vec::new());
        }
        Self::from_members(members(fields.iter(), scan, BaggageError::NotAscii), len)
    }

    /// `len`: an upper bound of the kept text's length (so it is allocated once).
    fn from_members<'a>(
        list: impl Iterator<Item = (usize, Result<&'a str, BaggageError>)>,
        len: usize,
    ) -> (Self, Vec<BaggageError>) {
        let mut baggage = Baggage { list: MemberList::with_capacity(len.min(MAX_BYTES)) };
        let mut errors = Vec::new();
        for (index, member) in list {
            let kept = member.and_then(|m| {
                if !baggage.fits(m) {
                    return Err(BaggageError::LimitExceeded { member: index });
                }
                baggage.push_back(m);
                Ok(())
            });
            if let Err(e) = kept {
                errors.push(e);
            }
        }
        (baggage, errors)
    }

    /// The members' texts, in order.
    fn members(&self) -> impl Iterator<Item = &str> {
        self.list.members()
    }

    fn fits(&self, member: &str) -> bool {
        self.list.len() < MAX_MEMBERS && self.list.len_with(member) <= MAX_BYTES
    }

    fn push_back(&mut self, member: &str) {
        self.list.push(member);
    }

    /// `first` (if any), then the members whose key is not `key`, as long as they fit.
    fn rebuilt(&self, first: Option<&str>, key: &str) -> Baggage {
        let len = self.list.as_str().len() + first.map_or(0, |m| m.len() + 1);
        let mut next = Baggage { list: MemberList::with_capacity(len.min(MAX_BYTES)) };
        if let Some(first) = first {
            next.push_back(first);
        }
        for m in self.members().filter(|m| key_of(m) != key) {
            if !next.fits(m) {
                break;
            }
            next.push_back(m);
        }
        next
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
    pub fn insert(&mut self, member: Member<'_>) -> Result<(), BaggageError> {
        if member.as_str().len() > MAX_BYTES {
            return Err(BaggageError::LimitExceeded { member: 0 });
        }
        *self = self.rebuilt(Some(member.as_str()), member.key());
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
        *self = self.rebuilt(None, key);
    }

    /// The decoded value of the first member with this key.
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "k=a%20b,k=2".parse().unwrap();
    /// assert_eq!(b.get("k").unwrap(), "a b");
    /// assert!(b.get("K").is_none());
    /// ```
    pub fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        self.find(key).map(|m| decode(raw_value_of(m)))
    }

    /// The first member with this key, borrowed from the list.
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "k=v;p".parse().unwrap();
    /// assert_eq!(b.member("k").unwrap().as_str(), "k=v;p");
    /// ```
    pub fn member(&self, key: &str) -> Option<Member<'_>> {
        self.find(key).map(Member::borrowed)
    }

    fn find(&self, key: &str) -> Option<&str> {
        self.members().find(|m| key_of(m) == key)
    }

    /// The members in order, borrowed from the list.
    ///
    /// ```
    /// let b: ctxflow_http::Baggage = "a=1,b=2".parse().unwrap();
    /// assert_eq!(b.iter().map(|m| m.key().to_owned()).collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> {
        self.members().map(Member::borrowed)
    }

    /// Number of members.
    ///
    /// ```
    /// assert_eq!("a=1,b=2".parse::<ctxflow_http::Baggage>().unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the list is empty (an empty baggage is not sent).
    ///
    /// ```
    /// assert!("".parse::<ctxflow_http::Baggage>().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.list.len() == 0
    }

    /// Size on the wire in bytes (members and commas).
    ///
    /// ```
    /// assert_eq!("a=1, b=2".parse::<ctxflow_http::Baggage>().unwrap().wire_len(), "a=1,b=2".len());
    /// ```
    pub fn wire_len(&self) -> usize {
        self.list.as_str().len()
    }

    /// The list as it is sent: `k=v,k=v;p`.
    ///
    /// ```
    /// assert_eq!("a=1, b=2;p".parse::<ctxflow_http::Baggage>().unwrap().as_str(), "a=1,b=2;p");
    /// ```
    pub fn as_str(&self) -> &str {
        self.list.as_str()
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
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
