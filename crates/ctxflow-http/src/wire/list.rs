//! HTTP list syntax shared by the three headers: optional whitespace and comma-separated
//! members, possibly spread over several fields of the same name.
//!
//! RFC 9110 §5.3 says repeated fields of a list header mean the same as one field with the
//! values joined by commas, so the parsers see one logical list however the sender split it,
//! and every limit (32 tracestate members, 64 baggage members, 8192 bytes) applies to the
//! whole list. This is also where non-ASCII fields are turned into typed errors instead of
//! panics.

/// HTTP's OWS: space or horizontal tab.
pub(crate) const fn is_ows(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `text` without leading and trailing spaces and tabs (HTTP's OWS); nothing else is trimmed.
pub(crate) fn trim_ows(text: &str) -> &str {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|&c| !is_ows(c)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&c| !is_ows(c)).map_or(start, |i| i + 1);
    // Both ends are next to ASCII bytes (or the ends of `text`): character boundaries.
    text.get(start..end).unwrap_or_default()
}

/// Where the member at a given position of a field ends, as a grammar's scanner finds it while
/// validating: `(next, Ok(end))` for a valid member `text[start..end]` (trailing OWS left
/// out), `(next, Err(e))` for an invalid one; `next` is the comma after the member or the end
/// of the field. The third argument is the member's index in the whole list, for errors.
pub(crate) type Scan<E> = fn(&[u8], usize, usize) -> (usize, Result<usize, E>);

/// The members of one comma-separated field, in order, with their index: each trimmed of OWS
/// and validated by `scan`, empty members skipped.
pub(crate) fn split_list<E: Copy>(text: &str, scan: Scan<E>) -> Members<'_, std::iter::Empty<&http::HeaderValue>, E> {
    Members { fields: std::iter::empty(), text, at: 0, index: 0, scan, not_ascii: None }
}

/// The members of a comma-separated list spread over `fields`, like [`split_list`]. A field
/// that is not visible ASCII yields one `Err(not_ascii)` in its place.
pub(crate) fn members<'a, I: IntoIterator<Item = &'a http::HeaderValue>, E: Copy>(
    fields: I,
    scan: Scan<E>,
    not_ascii: E,
) -> Members<'a, I::IntoIter, E> {
    Members { fields: fields.into_iter(), text: "", at: 0, index: 0, scan, not_ascii: Some(not_ascii) }
}

/// Iterator of [`members`]: one pass over each field, the grammar's scanner finding where each
/// member ends as it validates it (a separate split would read every byte twice).
pub(crate) struct Members<'a, I, E> {
    fields: I,
    /// The current field, and how far it has been read.
    text: &'a str,
    at: usize,
    index: usize,
    scan: Scan<E>,
    not_ascii: Option<E>,
}

impl<'a, I: Iterator<Item = &'a http::HeaderValue>, E: Copy> Iterator for Members<'a, I, E> {
    type Item = (usize, Result<&'a str, E>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = loop {
            let bytes = self.text.as_bytes();
            // Skip OWS and empty members.
            self.at += bytes.get(self.at..).unwrap_or_default().iter().take_while(|&&c| is_ows(c) || c == b',').count();
            if self.at < bytes.len() {
                break bytes;
            }
            let field = self.fields.next()?;
            (self.text, self.at) = ("", 0);
            match (field.to_str(), self.not_ascii) {
                (Ok(text), _) => self.text = text,
                (Err(_), Some(not_ascii)) => return Some((self.next_index(), Err(not_ascii))),
                (Err(_), None) => {}
            }
        };
        let (start, index) = (self.at, self.next_index());
        let (next, scanned) = (self.scan)(bytes, start, index);
        self.at = next + 1;
        // `start` and `end` are next to ASCII bytes or the ends of the text: character boundaries.
        Some((index, scanned.map(|end| self.text.get(start..end).unwrap_or_default())))
    }
}

impl<I, E> Members<'_, I, E> {
    /// The index of the next item, counted.
    fn next_index(&mut self) -> usize {
        self.index += 1;
        self.index - 1
    }
}

/// The first position from `from` on whose byte is not accepted by `class`, or the end.
pub(crate) fn skip(bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    from + rest.iter().position(|&c| !class(c)).unwrap_or(rest.len())
}

/// The first comma from `from` on, or the end: where a member that failed validation at `from`
/// ends.
pub(crate) fn next_comma(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    from + memchr::memchr(b',', rest).unwrap_or(rest.len())
}

/// A list of valid members joined by single commas (the wire form, as one string), and how many
/// there are: what [`Baggage`](crate::Baggage) and [`TraceState`](crate::TraceState) hold.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct MemberList {
    text: String,
    len: usize,
}

impl MemberList {
    /// The empty list.
    pub(crate) const fn new() -> Self {
        MemberList { text: String::new(), len: 0 }
    }

    /// An empty list with room for `bytes` of text.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        MemberList { text: String::with_capacity(bytes), len: 0 }
    }

    /// Appends a valid member (no comma in it, not empty).
    pub(crate) fn push(&mut self, member: &str) {
        if self.len > 0 {
            self.text.push(',');
        }
        self.text.push_str(member);
        self.len += 1;
    }

    /// The list's length in bytes once `member` is appended.
    pub(crate) fn len_with(&self, member: &str) -> usize {
        self.text.len() + usize::from(self.len > 0) + member.len()
    }

    /// The members' texts, in order.
    pub(crate) fn members(&self) -> impl Iterator<Item = &str> {
        // Members are never empty and hold no comma; only the empty list splits into "".
        self.text.split(',').filter(|m| !m.is_empty())
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// `field` itself, when it is already the wire form the general parse would produce: every
    /// member valid by `scan` and ending exactly at the next comma (no OWS, no empty members),
    /// at most `max_members` of them and `max_bytes` in all. Nearly every field a service
    /// receives was written by another tracer in that form; for it this is one pass of the same
    /// scanner and one copy, where the general parse copies member by member. Anything else is
    /// `None`, and left to the general parse, which decides it exactly as before.
    pub(crate) fn canonical<E>(field: &[u8], scan: Scan<E>, max_members: usize, max_bytes: usize) -> Option<Self> {
        if field.len() > max_bytes {
            return None;
        }
        let (mut at, mut len) = (0, 0);
        loop {
            let (next, scanned) = scan(field, at, len);
            if scanned.ok()? != next {
                return None;
            }
            len += 1;
            if len > max_members {
                return None;
            }
            if next == field.len() {
                break;
            }
            // `field[next]` is the comma; a member must follow it.
            at = next + 1;
            if at == field.len() {
                return None;
            }
        }
        // The grammars accept visible ASCII only, so this is valid UTF-8.
        let text = std::str::from_utf8(field).ok()?.to_owned();
        Some(MemberList { text, len })
    }
}
