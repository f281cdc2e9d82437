//! Trace ids, span ids and trace flags: the three fields of a `traceparent`.
//!
//! They are fixed-size byte arrays rather than integers or strings so that parsing is a
//! bounds-checked copy, formatting needs no allocation, and "all zeros is invalid" is a
//! property of the type: no constructor but [`TraceId::from_bytes`] can make an invalid one.
//! Hex is strictly lowercase on the way in (the spec's `HEXDIGLC`) and always lowercase on
//! the way out; `u128::from_str_radix` would accept uppercase, signs and short input.

use std::fmt;

/// A 16-byte W3C trace id, never all zeros.
///
/// ```
/// use ctxflow_http::TraceId;
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!("4BF92F3577B34DA6A3CE929D0E0E4736".parse::<TraceId>().is_err());
/// assert!(TraceId::from_bytes([0; 16]).is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId([u8; 16]);

/// An 8-byte W3C span id (the `parent-id` field of a `traceparent`), never all zeros.
///
/// ```
/// use ctxflow_http::SpanId;
/// let id: SpanId = "00f067aa0ba902b7".parse().unwrap();
/// assert_eq!(id.to_bytes(), [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
/// assert!("0000000000000000".parse::<SpanId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId([u8; 8]);

/// Why a trace id or span id could not be read from text.
///
/// ```
/// use ctxflow_http::{IdError, SpanId};
/// assert_eq!("000000000000000A".parse::<SpanId>(), Err(IdError::NotLowercaseHex));
/// assert_eq!("0000000000000000".parse::<SpanId>(), Err(IdError::AllZeros));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdError {
    /// Not exactly 32 (trace id) or 16 (span id) lowercase hex digits.
    NotLowercaseHex,
    /// All zeros, which the spec reserves as invalid.
    AllZeros,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::NotLowercaseHex => f.write_str("id is not the required number of lowercase hex digits"),
            IdError::AllZeros => f.write_str("id is all zeros"),
        }
    }
}

impl std::error::Error for IdError {}

macro_rules! id_type {
    ($name:ident, $len:literal) => {
        impl $name {
            /// The id with these bytes; `None` when they are all zeros.
            ///
            /// ```
            /// let id = ctxflow_http::TraceId::from_bytes([1; 16]).unwrap();
            /// assert_eq!(id.to_bytes(), [1; 16]);
            /// ```
            pub fn from_bytes(bytes: [u8; $len]) -> Option<Self> {
                (bytes != [0; $len]).then_some($name(bytes))
            }

            /// The id's bytes, most significant first (the order of its hex form).
            ///
            /// ```
            /// let id = ctxflow_http::SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, 7]).unwrap();
            /// assert_eq!(id.to_string(), "0000000000000007");
            /// ```
            pub fn to_bytes(self) -> [u8; $len] {
                self.0
            }

            /// A fresh random id from a thread-local CSPRNG (never all zeros).
            ///
            /// ```
            /// use ctxflow_http::TraceId;
            /// assert_ne!(TraceId::random(), TraceId::random());
            /// ```
            pub fn random() -> Self {
                let mut bytes: [u8; $len] = rand::random();
                if bytes == [0; $len] {
                    bytes[$len - 1] = 1;
                }
                $name(bytes)
            }

            /// Parses exactly the hex form the spec allows (lowercase, fixed length, not zero).
            pub(crate) fn from_hex(hex: &[u8]) -> Result<Self, IdError> {
                let bytes = decode_lower_hex::<$len>(hex).ok_or(IdError::NotLowercaseHex)?;
                Self::from_bytes(bytes).ok_or(IdError::AllZeros)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::from_hex(s.as_bytes())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut buf = [0u8; $len * 2];
                f.write_str(encode_lower_hex(&self.0, &mut buf))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

id_type!(TraceId, 16);
id_type!(SpanId, 8);

/// The `trace-flags` byte of a `traceparent`.
///
/// Incoming flags are kept as received (a newer version may define more bits); outgoing
/// headers carry only the bits this version of the spec defines ([`TraceFlags::KNOWN`]),
/// because the spec says unknown bits MUST be zero on output.
///
/// ```
/// use ctxflow_http::TraceFlags;
/// let f = TraceFlags::from_bits(0x03);
/// assert!(f.is_sampled() && f.is_random());
/// assert_eq!(TraceFlags::from_bits(0xff).known().bits(), 0x03);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TraceFlags(u8);

impl TraceFlags {
    /// Bit 0: the caller may have recorded this trace.
    ///
    /// ```
    /// assert!(ctxflow_http::TraceFlags::SAMPLED.is_sampled());
    /// ```
    pub const SAMPLED: TraceFlags = TraceFlags(0x01);
    /// Bit 1 (Level 2): the right-most 7 bytes of the trace id are random.
    ///
    /// ```
    /// assert!(ctxflow_http::TraceFlags::RANDOM.is_random());
    /// ```
    pub const RANDOM: TraceFlags = TraceFlags(0x02);
    /// Every bit the spec defines.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::TraceFlags::KNOWN.bits(), 0x03);
    /// ```
    pub const KNOWN: TraceFlags = TraceFlags(0x03);

    /// Flags with exactly these bits.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::TraceFlags::from_bits(0x01), ctxflow_http::TraceFlags::SAMPLED);
    /// ```
    pub const fn from_bits(bits: u8) -> Self {
        TraceFlags(bits)
    }

    /// The raw byte.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::TraceFlags::from_bits(0x81).bits(), 0x81);
    /// ```
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether the sampled bit is set.
    ///
    /// ```
    /// assert!(!ctxflow_http::TraceFlags::from_bits(0x02).is_sampled());
    /// ```
    pub const fn is_sampled(self) -> bool {
        self.0 & Self::SAMPLED.0 != 0
    }

    /// Whether the random-trace-id bit is set.
    ///
    /// ```
    /// assert!(ctxflow_http::TraceFlags::from_bits(0x03).is_random());
    /// ```
    pub const fn is_random(self) -> bool {
        self.0 & Self::RANDOM.0 != 0
    }

    /// These flags with the sampled bit set or cleared.
    ///
    /// ```
    /// assert!(ctxflow_http::TraceFlags::default().with_sampled(true).is_sampled());
    /// ```
    pub const fn with_sampled(self, sampled: bool) -> Self {
        if sampled { TraceFlags(self.0 | Self::SAMPLED.0) } else { TraceFlags(self.0 & !Self::SAMPLED.0) }
    }

    /// Only the bits this version of the spec defines: what goes out on the wire.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::TraceFlags::from_bits(0x81).known().bits(), 0x01);
    /// ```
    pub const fn known(self) -> Self {
        TraceFlags(self.0 & Self::KNOWN.0)
    }
}

impl fmt::Display for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 2];
        f.write_str(encode_lower_hex(&[self.0], &mut buf))
    }
}

impl fmt::Debug for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceFlags({self})")
    }
}

/// `N` bytes from exactly `2 * N` lowercase hex digits.
pub(crate) fn decode_lower_hex<const N: usize>(hex: &[u8]) -> Option<[u8; N]> {
    if hex.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (lower_hex_digit(pair[0])? << 4) | lower_hex_digit(pair[1])?;
    }
    Some(out)
}

fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Writes `bytes` as lowercase hex into `buf` (which must be twice as long) and returns it.
pub(crate) fn encode_lower_hex<'a>(bytes: &[u8], buf: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
    // Only ASCII hex digits were written.
    std::str::from_utf8(buf).unwrap_or_default()
}
