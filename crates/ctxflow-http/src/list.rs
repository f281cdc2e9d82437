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

/// The members of one comma-separated field, in order, each trimmed of OWS, empty members
/// skipped.
pub(crate) fn split_list(text: &str) -> Members<'_, std::iter::Empty<&http::HeaderValue>> {
    Members { fields: std::iter::empty(), rest: text }
}

/// The members of a comma-separated list spread over `fields`, in order, each trimmed of OWS,
/// empty members skipped. A field that is not visible ASCII yields one `Err(())` in its place.
pub(crate) fn members<'a, I: IntoIterator<Item = &'a http::HeaderValue>>(fields: I) -> Members<'a, I::IntoIter> {
    Members { fields: fields.into_iter(), rest: "" }
}

/// Iterator of [`members`] (a plain byte scan: this runs on every request, and members are
/// too short for `memchr` to pay for its setup).
pub(crate) struct Members<'a, I> {
    fields: I,
    /// What is left of the current field.
    rest: &'a str,
}

impl<'a, I: Iterator<Item = &'a http::HeaderValue>> Iterator for Members<'a, I> {
    type Item = Result<&'a str, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                match self.fields.next()?.to_str() {
                    Ok(text) => self.rest = text,
                    Err(_) => return Some(Err(())),
                }
                continue;
            }
            let (member, rest) = match self.rest.bytes().position(|c| c == b',') {
                Some(comma) => (&self.rest[..comma], &self.rest[comma + 1..]),
                None => (self.rest, ""),
            };
            self.rest = rest;
            let member = trim_ows(member);
            if !member.is_empty() {
                return Some(Ok(member));
            }
        }
    }
}
