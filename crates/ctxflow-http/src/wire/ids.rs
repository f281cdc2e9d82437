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
    // Eight digits at a time, then one pair at a time for the rest (a version or flags byte).
    let (words, pairs) = out.split_at_mut(N - N % 4);
    // One check at the end, not one per word.
    let mut valid = true;
    for (word, digits) in words.chunks_exact_mut(4).zip(hex.chunks_exact(8)) {
        let (bytes, ok) =
            decode_eight([digits[0], digits[1], digits[2], digits[3], digits[4], digits[5], digits[6], digits[7]]);
        word.copy_from_slice(&bytes);
        valid &= ok;
    }
    if !valid {
        return None;
    }
    let mut seen = 0u8;
    for (byte, pair) in pairs.iter_mut().zip(hex[2 * words.len()..].chunks_exact(2)) {
        let (high, low) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        seen |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    // A digit's value has its high nibble clear; `INVALID` does not.
    (seen & 0xf0 == 0).then_some(out)
}

/// A byte with value 1 in every lane of a `u64`.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Four bytes from eight lowercase hex digits, all eight checked and converted together in
/// one `u64` (first digit in the top byte); `false` when they are not all such digits.
fn decode_eight(digits: [u8; 8]) -> ([u8; 4], bool) {
    let x = u64::from_be_bytes(digits);
    let top = 0x80 * ONES;
    // For bytes below 0x80 (checked last), adding `0x80 - lo` sets a byte's top bit exactly
    // when it is >= lo, adding `0x7f - hi` when it is > hi, and neither carries into the next byte.
    let in_range = |lo: u64, hi: u64| x.wrapping_add((0x80 - lo) * ONES) & !x.wrapping_add((0x7f - hi) * ONES) & top;
    let (digit, letter) = (in_range(u64::from(b'0'), u64::from(b'9')), in_range(u64::from(b'a'), u64::from(b'f')));
    let valid = (digit | letter) & !x & top == top;
    // '0'..'9' and 'a'..'f' have the values 0..9 and 1..6 in their low nibble.
    let nibbles = (x & (0x0f * ONES)) + (letter >> 7) * 9;
    // Pack the nibble in each byte with its neighbour, then the bytes, then the pairs.
    let v = (nibbles | nibbles >> 4) & 0x00ff_00ff_00ff_00ff;
    let v = (v | v >> 8) & 0x0000_ffff_0000_ffff;
    let v = (v | v >> 16) & 0xffff_ffff;
    ((v as u32).to_be_bytes(), valid)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the digits mean, one at a time.
    fn reference(digits: &[u8]) -> Option<Vec<u8>> {
        let value = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        digits.chunks_exact(2).map(|p| Some(value(p[0])? << 4 | value(p[1])?)).collect()
    }

    #[test]
    fn every_byte_in_every_position_decodes_as_one_digit_at_a_time_would() {
        let base = *b"0123456789abcdef0123456789abcdef";
        for at in 0..base.len() {
            for c in 0..=255u8 {
                let mut digits = base;
                digits[at] = c;
                let wide: Option<[u8; 16]> = decode_lower_hex(&digits);
                assert_eq!(wide.map(|b| b.to_vec()), reference(&digits), "byte {c:#04x} at {at}");
                let narrow: Option<[u8; 1]> = decode_lower_hex(&digits[at & !1..(at & !1) + 2]);
                assert_eq!(narrow.map(|b| b.to_vec()), reference(&digits[at & !1..(at & !1) + 2]));
            }
        }
    }

    #[test]
    fn every_byte_in_every_position_encodes_as_one_digit_at_a_time_would() {
        for at in 0..9 {
            for b in 0..=255u8 {
                let mut bytes = [0x5au8; 9];
                bytes[at] = b;
                let mut buf = [0u8; 18];
                encode_lower_hex(&bytes, &mut buf);
                let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(ascii(&buf), expected);
                assert_eq!(decode_lower_hex::<9>(&buf), Some(bytes));
            }
        }
    }
}
