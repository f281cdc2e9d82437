//! Request ids: accepted from `x-request-id` when they are safe to log and forward, otherwise
//! generated.
//!
//! An incoming id is only trusted as far as its shape: 1 to 128 visible ASCII characters, so
//! it cannot inject line breaks into logs or grow without bound. Generated ids are 128 random
//! bits in lowercase hex, unique without coordination between processes. Ids up to 38
//! characters (every generated id, and UUIDs) are stored inline, so making one allocates
//! nothing; longer ones are shared.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::wire::header_fields::Fields;

/// Longest accepted request id.
///
/// ```
/// assert!("x".repeat(ctxflow_http::limits::REQUEST_ID_MAX_LEN + 1).parse::<ctxflow_http::RequestId>().is_err());
/// ```
pub const MAX_LEN: usize = 128;

/// A request id: printable, at most 128 visible ASCII characters, cheap to clone.
///
/// ```
/// use ctxflow_http::RequestId;
/// let id: RequestId = "req-42".parse().unwrap();
/// assert_eq!(id.as_str(), "req-42");
/// assert!("two words".parse::<RequestId>().is_err());
/// assert_eq!(RequestId::generate().as_str().len(), 32);
/// ```
#[derive(Clone)]
pub struct RequestId(Repr);

/// Longest id stored inline.
const INLINE: usize = 38;

/// Visible ASCII either way.
#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: Inline },
    Shared(Arc<str>),
}

/// An inline id's bytes, starting on a word boundary: `str::from_utf8`, which every display of
/// the id goes through, then checks them a word at a time instead of a byte at a time.
#[derive(Clone, Copy)]
#[repr(align(8))]
struct Inline([u8; INLINE]);

/// Why a request id was not accepted.
///
/// ```
/// use ctxflow_http::{RequestId, RequestIdError};
/// assert_eq!("a\tb".parse::<RequestId>(), Err(RequestIdError::Invalid));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestIdError {
    /// Empty, longer than 128 characters, or holding characters other than visible ASCII.
    Invalid,
    /// More than one request id field.
    Duplicate,
}

impl fmt::Display for RequestIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestIdError::Invalid => write!(f, "request id is not 1 to {MAX_LEN} visible ASCII characters"),
            RequestIdError::Duplicate => f.write_str("more than one request id field"),
        }
    }
}

impl std::error::Error for RequestIdError {}

impl RequestId {
    /// A fresh random id (32 lowercase hex digits).
    ///
    /// ```
    /// use ctxflow_http::RequestId;
    /// assert_ne!(RequestId::generate(), RequestId::generate());
    /// ```
    pub fn generate() -> Self {
        let random: [u8; 16] = crate::wire::ids::random_bytes();
        let mut bytes = Inline([0; INLINE]);
        crate::wire::ids::encode_lower_hex(&random, &mut bytes.0[..32]);
        RequestId(Repr::Inline { len: 32, bytes })
    }

    /// The id as text.
    ///
    /// ```
    /// assert_eq!("abc".parse::<ctxflow_http::RequestId>().unwrap().as_str(), "abc");
    /// ```
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only visible ASCII is ever stored, so this never falls back.
            Repr::Inline { len, bytes } => std::str::from_utf8(&bytes.0[..usize::from(*len)]).unwrap_or_default(),
            Repr::Shared(text) => text,
        }
    }

    /// Reads `x-request-id` from a header map: `Ok(None)` when absent.
    ///
    /// ```
    /// let mut h = http::HeaderMap::new();
    /// h.insert("x-request-id", "abc".parse().unwrap());
    /// assert_eq!(ctxflow_http::RequestId::from_headers(&h).unwrap().unwrap().as_str(), "abc");
    /// ```
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Option<Self>, RequestIdError> {
        Self::from_fields(&Fields::of(headers, &crate::header::REQUEST_ID))
    }

    pub(crate) fn from_fields(fields: &Fields<'_>) -> Result<Option<Self>, RequestIdError> {
        let mut fields = fields.iter();
        let Some(first) = fields.next() else { return Ok(None) };
        if fields.next().is_some() {
            return Err(RequestIdError::Duplicate);
        }
        Self::from_bytes(first.as_bytes()).map(Some)
    }

    fn from_bytes(text: &[u8]) -> Result<Self, RequestIdError> {
        // No early exit, so the check vectorizes.
        let graphic = text.iter().fold(true, |ok, c| ok & c.is_ascii_graphic());
        let ok = !text.is_empty() && text.len() <= MAX_LEN && graphic;
        if !ok {
            return Err(RequestIdError::Invalid);
        }
        if text.len() <= INLINE {
            let mut bytes = Inline([0; INLINE]);
            bytes.0[..text.len()].copy_from_slice(text);
            return Ok(RequestId(Repr::Inline { len: text.len() as u8, bytes }));
        }
        // Visible ASCII, so valid UTF-8.
        Ok(RequestId(Repr::Shared(std::str::from_utf8(text).unwrap_or_default().into())))
    }
}

impl std::str::FromStr for RequestId {
    type Err = RequestIdError;

    fn from_str(s: &str) -> Result<Self, RequestIdError> {
        Self::from_bytes(s.as_bytes())
    }
}

impl PartialEq for RequestId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RequestId {}

impl Hash for RequestId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for RequestId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RequestId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.as_str())
    }
}
