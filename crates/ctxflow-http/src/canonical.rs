//! The fast path for trace headers that are already in the form we would forward.
//!
//! Nearly every `tracestate` and `baggage` field a service receives was written by another
//! tracer: no spaces, no empty members, nothing invalid, well within the limits. For such a
//! field the general parsers (member by member, part by part, each member copied into the
//! kept list) produce the field itself, at several times the cost of one pass. Here a
//! whole field is checked by one small automaton, one table lookup per byte with no branch but
//! the loop's, and kept with a single copy. Anything else (spaces, an empty or invalid member,
//! a field near the limits, several fields) is left to the general parsers, so this path only
//! ever decides "exactly as the parsers would, with no error" (checked against them by
//! `tests/scanners_match_reference.rs`).

use crate::baggage::{MAX_BYTES, MAX_MEMBERS as BAGGAGE_MAX_MEMBERS};
use crate::tracestate::{MAX_KEY_LEN, MAX_MEMBERS as TRACESTATE_MAX_MEMBERS};

/// The number of members of `field` when it is a canonical baggage list (members
/// `token=octets` with `;token` or `;token=octets` properties, joined by single commas) within
/// the limits; `None` otherwise.
pub(crate) fn baggage_members(field: &[u8]) -> Option<usize> {
    if field.len() > MAX_BYTES {
        return None;
    }
    let members = run(&BAGGAGE, field, &[VALUE, PROP_KEY, PROP_VALUE])?;
    (members <= BAGGAGE_MAX_MEMBERS).then_some(members)
}

/// The number of members of `field` when it is a canonical tracestate list (members
/// `key=value` with no spaces, joined by single commas) within the limits; `None` otherwise.
pub(crate) fn tracestate_members(field: &[u8]) -> Option<usize> {
    // Up to this length no key or value can be longer than 256.
    if field.len() > MAX_KEY_LEN + 2 {
        return None;
    }
    let members = run(&TRACESTATE, field, &[TS_VALUE])?;
    (members <= TRACESTATE_MAX_MEMBERS).then_some(members)
}

/// Runs the automaton over `field`: the member count if it ends in one of `accept`.
fn run(table: &Table, field: &[u8], accept: &[u8]) -> Option<usize> {
    // No early exit (FAIL never leaves), and `& 7` spares a bounds check.
    let end = field.iter().fold(START, |state, &c| table[usize::from(state & 7)][usize::from(c)]);
    if !accept.contains(&end) {
        return None;
    }
    // Counted in `u8`s, 255 bytes at a time, so that it vectorizes.
    let commas: usize =
        field.chunks(255).map(|c| usize::from(c.iter().fold(0u8, |n, &b| n + u8::from(b == b',')))).sum();
    Some(commas + 1)
}

/// The automaton: the next state is `table[state][byte]`.
type Table = [[u8; 256]; STATES];

const STATES: usize = 8;
const START: u8 = 0;
const FAIL: u8 = 6;

// Baggage states: where in a member the previous byte left us.
const KEY: u8 = 1;
const VALUE: u8 = 2;
const PROP_START: u8 = 3;
const PROP_KEY: u8 = 4;
const PROP_VALUE: u8 = 5;

/// RFC 9110 tchar.
const fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-')
        || matches!(c, b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// baggage-octet: printable ASCII except space, `"`, `,`, `;` and `\`.
const fn is_octet(c: u8) -> bool {
    matches!(c, 0x21..=0x7e) && !matches!(c, b'"' | b',' | b';' | b'\\')
}

const fn baggage_next(state: u8, c: u8) -> u8 {
    match state {
        START if is_tchar(c) => KEY,
        KEY if is_tchar(c) => KEY,
        KEY if c == b'=' => VALUE,
        VALUE | PROP_KEY | PROP_VALUE if c == b',' => START,
        VALUE | PROP_KEY | PROP_VALUE if c == b';' => PROP_START,
        VALUE if is_octet(c) => VALUE,
        PROP_START if is_tchar(c) => PROP_KEY,
        PROP_KEY if is_tchar(c) => PROP_KEY,
        PROP_KEY if c == b'=' => PROP_VALUE,
        PROP_VALUE if is_octet(c) => PROP_VALUE,
        _ => FAIL,
    }
}

// Tracestate states.
const TS_KEY: u8 = 1;
const TS_VALUE_START: u8 = 2;
const TS_VALUE: u8 = 3;

const fn tracestate_next(state: u8, c: u8) -> u8 {
    let key = matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@');
    // Value characters, less the space (a value ending in one is not kept as sent).
    let value = matches!(c, 0x21..=0x7e) && c != b',' && c != b'=';
    match state {
        START if c.is_ascii_lowercase() || c.is_ascii_digit() => TS_KEY,
        TS_KEY if key => TS_KEY,
        TS_KEY if c == b'=' => TS_VALUE_START,
        TS_VALUE_START | TS_VALUE if value => TS_VALUE,
        TS_VALUE if c == b',' => START,
        _ => FAIL,
    }
}

/// The automaton as a table, built at compile time.
const fn table(tracestate: bool) -> Table {
    let mut table = [[FAIL; 256]; STATES];
    let mut state = 0;
    while state < STATES {
        let mut c = 0;
        while c < 256 {
            let (s, b) = (state as u8, c as u8);
            table[state][c] = if tracestate { tracestate_next(s, b) } else { baggage_next(s, b) };
            c += 1;
        }
        state += 1;
    }
    table
}

static BAGGAGE: Table = table(false);
static TRACESTATE: Table = table(true);
