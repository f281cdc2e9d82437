//! The `traceparent` header: parsing exactly as the W3C Trace Context processing model says.
//!
//! Strictness is the point: the spec's rules (exact length for version `00`, lowercase hex,
//! no all-zero ids, version `ff` forbidden, lenient-but-checked parsing of future versions)
//! are what lets independent vendors agree on whether a header is valid, and a parser that
//! accepts more (as `u8::from_str_radix` does with `0`, `000` or `+1`) silently continues a
//! trace that every other participant would have restarted.

use std::fmt;

use crate::wire::header_fields::Fields;
use crate::wire::ids::{IdError, SpanId, TraceFlags, TraceId, ascii, decode_lower_hex, encode_lower_hex};
use crate::wire::list::trim_ows;

/// Length of a version-00 `traceparent`: `2 + 1 + 32 + 1 + 16 + 1 + 2`.
const V00_LEN: usize = 55;

/// A parsed `traceparent`: which trace, which caller span, which flags.
///
/// Parsing accepts version `00` (exactly 55 characters) and future versions `01`–`fe` (at
/// least 55 characters, the known fields at their version-00 positions, then end or `-`).
/// Formatting always writes version `00` with only the flags this version defines.
///
/// ```
/// use ctxflow_http::TraceParent;
/// let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
/// assert!(tp.flags.is_sampled());
/// assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
///
/// // A future version: extra fields are ignored and we answer in version 00.
/// let tp: TraceParent = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future".parse().unwrap();
/// assert!(tp.to_string().starts_with("00-"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// The trace this request belongs to.
    pub trace_id: TraceId,
    /// The span id of the caller (the `parent-id` field).
    pub parent_id: SpanId,
    /// The trace flags as received (unknown bits are dropped on output).
    pub flags: TraceFlags,
}

/// Why a `traceparent` value was rejected. A rejected header means: start a new trace, and
/// ignore `tracestate`.
///
/// ```
/// use ctxflow_http::{TraceParent, TraceParentError};
/// let ff = "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// assert_eq!(TraceParent::parse(ff), Err(TraceParentError::ForbiddenVersion));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceParentError {
    /// The request carried more than one `traceparent` field.
    Duplicate,
    /// The field holds bytes that are not visible ASCII.
    NotAscii,
    /// The version is not two lowercase hex digits followed by `-`.
    InvalidVersion,
    /// Version `ff`, which the spec forbids.
    ForbiddenVersion,
    /// Version `00` is exactly 55 characters long; this one is not.
    WrongLength {
        /// Length after removing surrounding spaces and tabs.
        len: usize,
    },
    /// Shorter than 55 characters (any version).
    TooShort {
        /// Length after removing surrounding spaces and tabs.
        len: usize,
    },
    /// A `-` is missing between fields, or a future version has something other than `-`
    /// right after the flags.
    InvalidDelimiter,
    /// The trace id is not 32 lowercase hex digits, or is all zeros.
    InvalidTraceId(IdError),
    /// The parent id is not 16 lowercase hex digits, or is all zeros.
    InvalidParentId(IdError),
    /// The flags are not two lowercase hex digits.
    InvalidFlags,
}

impl fmt::Display for TraceParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceParentError::Duplicate => f.write_str("more than one traceparent field"),
            TraceParentError::NotAscii => f.write_str("traceparent is not visible ASCII"),
            TraceParentError::InvalidVersion => f.write_str("traceparent version is not two lowercase hex digits"),
            TraceParentError::ForbiddenVersion => f.write_str("traceparent version ff is forbidden"),
            TraceParentError::WrongLength { len } => {
                write!(f, "traceparent version 00 must be 55 characters, got {len}")
            }
            TraceParentError::TooShort { len } => write!(f, "traceparent shorter than 55 characters ({len})"),
            TraceParentError::InvalidDelimiter => f.write_str("traceparent fields are not separated by '-'"),
            TraceParentError::InvalidTraceId(e) => write!(f, "traceparent trace-id: {e}"),
            TraceParentError::InvalidParentId(e) => write!(f, "traceparent parent-id: {e}"),
            TraceParentError::InvalidFlags => f.write_str("traceparent trace-flags are not two lowercase hex digits"),
        }
    }
}

impl std::error::Error for TraceParentError {}

impl TraceParent {
    /// A `traceparent` for this trace with the given caller span and flags.
    ///
    /// ```
    /// use ctxflow_http::{SpanId, TraceFlags, TraceId, TraceParent};
    /// let tp = TraceParent::new(TraceId::random(), SpanId::random(), TraceFlags::SAMPLED);
    /// assert_eq!(TraceParent::parse(&tp.to_string()), Ok(tp));
    /// ```
    pub fn new(trace_id: TraceId, parent_id: SpanId, flags: TraceFlags) -> Self {
        TraceParent { trace_id, parent_id, flags }
    }

    /// Parses one field value. Surrounding spaces and tabs (HTTP's OWS) are ignored.
    ///
    /// ```
    /// use ctxflow_http::{TraceParent, TraceParentError};
    /// let short = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1";
    /// assert_eq!(TraceParent::parse(short), Err(TraceParentError::WrongLength { len: 54 }));
    /// ```
    pub fn parse(value: &str) -> Result<Self, TraceParentError> {
        Self::parse_trimmed(trim_ows(value).as_bytes())
    }

    /// [`parse`](Self::parse) after the OWS around the value was trimmed.
    fn parse_trimmed(b: &[u8]) -> Result<Self, TraceParentError> {
        let version: [u8; 1] = decode_lower_hex(b.get(..2).unwrap_or(b)).ok_or(TraceParentError::InvalidVersion)?;
        if b.get(2) != Some(&b'-') {
            return Err(TraceParentError::InvalidVersion);
        }
        match version[0] {
            0xff => return Err(TraceParentError::ForbiddenVersion),
            0x00 if b.len() != V00_LEN => return Err(TraceParentError::WrongLength { len: b.len() }),
            _ if b.len() < V00_LEN => return Err(TraceParentError::TooShort { len: b.len() }),
            _ if b.len() > V00_LEN && b[V00_LEN] != b'-' => return Err(TraceParentError::InvalidDelimiter),
            _ => {}
        }
        if b[35] != b'-' || b[52] != b'-' {
            return Err(TraceParentError::InvalidDelimiter);
        }
        let trace_id = TraceId::from_hex(&b[3..35]).map_err(TraceParentError::InvalidTraceId)?;
        let parent_id = SpanId::from_hex(&b[36..52]).map_err(TraceParentError::InvalidParentId)?;
        let [flags] = decode_lower_hex::<1>(&b[53..55]).ok_or(TraceParentError::InvalidFlags)?;
        Ok(TraceParent { trace_id, parent_id, flags: TraceFlags::from_bits(flags) })
    }

    /// Reads the `traceparent` of a header map: exactly one field must be present.
    /// `Ok(None)` when there is none.
    ///
    /// ```
    /// use ctxflow_http::{TraceParent, TraceParentError};
    /// let mut headers = http::HeaderMap::new();
    /// let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    /// headers.append("traceparent", v.parse().unwrap());
    /// assert!(TraceParent::from_headers(&headers).unwrap().is_some());
    /// headers.append("traceparent", v.parse().unwrap());
    /// assert_eq!(TraceParent::from_headers(&headers), Err(TraceParentError::Duplicate));
    /// ```
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Option<Self>, TraceParentError> {
        Self::from_fields(&Fields::of(headers, &crate::header::TRACEPARENT))
    }

    pub(crate) fn from_fields(fields: &Fields<'_>) -> Result<Option<Self>, TraceParentError> {
        let mut fields = fields.iter();
        let Some(first) = fields.next() else { return Ok(None) };
        if fields.next().is_some() {
            return Err(TraceParentError::Duplicate);
        }
        // The usual field is exactly a version-00 value. Parsing it checks each of its 55 bytes
        // (hex digits and dashes), so `to_str`'s ASCII check would only repeat that work.
        if first.len() == V00_LEN
            && let Ok(parent) = Self::parse_trimmed(first.as_bytes())
        {
            return Ok(Some(parent));
        }
        let text = first.to_str().map_err(|_| TraceParentError::NotAscii)?;
        Self::parse(text).map(Some)
    }
}

impl std::str::FromStr for TraceParent {
    type Err = TraceParentError;

    fn from_str(s: &str) -> Result<Self, TraceParentError> {
        Self::parse(s)
    }
}

impl TraceParent {
    /// The version-00 text, written into a fixed buffer (no allocation, no formatting
    /// machinery: this runs for every outgoing call).
    pub(crate) fn encode(&self) -> [u8; V00_LEN] {
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
        encode_lower_hex(&self.trace_id.to_bytes(), &mut out[3..35]);
        encode_lower_hex(&self.parent_id.to_bytes(), &mut out[36..52]);
        encode_lower_hex(&[self.flags.known().bits()], &mut out[53..55]);
        out
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ascii(&self.encode()))
    }
}
