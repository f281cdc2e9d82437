//! Trace ids, span ids and trace flags: the three fields of a `traceparent`.
//!
//! They are fixed-size byte arrays rather than integers or strings so that parsing is a
//! bounds-checked copy, formatting needs no allocation, and "all zeros is invalid" is a
//! property of the type: no constructor but [`TraceId::from_bytes`] can make an invalid one.
//! Hex is strictly lowercase on the way in (the spec's `HEXDIGLC`) and always lowercase on
//! the way out; `u128::from_str_radix` would accept uppercase, signs and short input.
//!
//! Random ids come from a per-thread xoshiro256++ (`rand`'s `SmallRng`) seeded from the
//! operating system, as OpenTelemetry's SDK does: uniform, a few nanoseconds per id, and
//! never contended. Ids identify; they are not secrets, so a cryptographic generator (5 to 10
//! times slower, and run several times per request) buys nothing here.

use std::cell::RefCell;
use std::fmt;

use rand::rngs::{OsRng, SmallRng};
use rand::{RngCore, SeedableRng, TryRngCore};

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

            /// A fresh random id (never all zeros) from a per-thread generator seeded by the
            /// operating system (see the module docs).
            ///
            /// ```
            /// use ctxflow_http::TraceId;
            /// assert_ne!(TraceId::random(), TraceId::random());
            /// ```
            pub fn random() -> Self {
                let mut bytes: [u8; $len] = random_bytes();
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
                encode_lower_hex(&self.0, &mut buf);
                f.write_str(ascii(&buf))
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
        encode_lower_hex(&[self.0], &mut buf);
        f.write_str(ascii(&buf))
    }
}

impl fmt::Debug for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceFlags({self})")
    }
}

thread_local! {
    // No drop glue, so it stays usable while the thread's other thread-locals are torn down.
    static RNG: RefCell<SmallRng> = RefCell::new(seeded());
}

fn seeded() -> SmallRng {
    let mut seed = [0u8; 32];
    // getrandom does not fail on the platforms we run on; if it did, the ids would still be
    // unique within this thread (an all-zero seed is replaced by a fixed non-zero state).
    let _ = OsRng.try_fill_bytes(&mut seed);
    SmallRng::from_seed(seed)
}

/// `N` random bytes from this thread's generator.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    RNG.with_borrow_mut(|rng| {
        // Whole words: `fill_bytes` goes through a generic byte loop.
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes()[..chunk.len()]);
        }
    });
    bytes
}

/// Values of lowercase hex digits; `INVALID` for every other byte.
const INVALID: u8 = 0xff;
const HEX: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// `N` bytes from exactly `2 * N` lowercase hex digits.
pub(crate) fn decode_lower_hex<const N: usize>(hex: &[u8]) -> Option<[u8; N]> {
    if hex.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let mut seen = 0u8;
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (high, low) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        seen |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    // A digit's value has its high nibble clear; `INVALID` does not.
    (seen & 0xf0 == 0).then_some(out)
}

/// The two lowercase hex digits of every byte.
const PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 0x0f]];
        i += 1;
    }
    table
};

/// Writes `bytes` as lowercase hex into `buf` (which must be twice as long).
pub(crate) fn encode_lower_hex(bytes: &[u8], buf: &mut [u8]) {
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[usize::from(*b)]);
    }
}

/// Text this crate wrote (ASCII only), as a `str`.
pub(crate) fn ascii(buf: &[u8]) -> &str {
    std::str::from_utf8(buf).unwrap_or_default()
}
