//! Request ids: accepted from `x-request-id` when they are safe to log and forward, otherwise
//! generated.
//!
//! An incoming id is only trusted as far as its shape: 1 to 128 visible ASCII characters, so
//! it cannot inject line breaks into logs or grow without bound. Generated ids are 128 random
//! bits in lowercase hex, unique without coordination between processes.

use std::fmt;
use std::sync::Arc;

/// Longest accepted request id.
///
/// ```
/// assert!("x".repeat(ctxflow_http::limits::REQUEST_ID_MAX_LEN + 1).parse::<ctxflow_http::RequestId>().is_err());
/// ```
pub const MAX_LEN: usize = 128;

/// A request id: cheap to clone (shared), printable, at most 128 visible ASCII characters.
///
/// ```
/// use ctxflow_http::RequestId;
/// let id: RequestId = "req-42".parse().unwrap();
/// assert_eq!(id.as_str(), "req-42");
/// assert!("two words".parse::<RequestId>().is_err());
/// assert_eq!(RequestId::generate().as_str().len(), 32);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(Arc<str>);

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
    /// More than one `x-request-id` field.
    Duplicate,
}

impl fmt::Display for RequestIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestIdError::Invalid => write!(f, "request id is not 1 to {MAX_LEN} visible ASCII characters"),
            RequestIdError::Duplicate => f.write_str("more than one x-request-id field"),
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
        let bytes: [u8; 16] = rand::random();
        let mut hex = [0u8; 32];
        RequestId(crate::ids::encode_lower_hex(&bytes, &mut hex).into())
    }

    /// The id as text.
    ///
    /// ```
    /// assert_eq!("abc".parse::<ctxflow_http::RequestId>().unwrap().as_str(), "abc");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads `x-request-id` from a header map: `Ok(None)` when absent.
    ///
    /// ```
    /// let mut h = http::HeaderMap::new();
    /// h.insert("x-request-id", "abc".parse().unwrap());
    /// assert_eq!(ctxflow_http::RequestId::from_headers(&h).unwrap().unwrap().as_str(), "abc");
    /// ```
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Option<Self>, RequestIdError> {
        let mut fields = headers.get_all(crate::header::REQUEST_ID).iter();
        let Some(first) = fields.next() else { return Ok(None) };
        if fields.next().is_some() {
            return Err(RequestIdError::Duplicate);
        }
        first.to_str().map_err(|_| RequestIdError::Invalid)?.parse().map(Some)
    }
}

impl std::str::FromStr for RequestId {
    type Err = RequestIdError;

    fn from_str(s: &str) -> Result<Self, RequestIdError> {
        let ok = !s.is_empty() && s.len() <= MAX_LEN && s.bytes().all(|c| c.is_ascii_graphic());
        if ok { Ok(RequestId(s.into())) } else { Err(RequestIdError::Invalid) }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.0)
    }
}
