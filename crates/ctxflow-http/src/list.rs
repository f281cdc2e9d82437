//! HTTP list syntax shared by the three headers: optional whitespace and comma-separated
//! members, possibly spread over several fields of the same name.
//!
//! RFC 9110 §5.3 says repeated fields of a list header mean the same as one field with the
//! values joined by commas, so the parsers see one logical list however the sender split it,
//! and every limit (32 tracestate members, 64 baggage members, 8192 bytes) applies to the
//! whole list. This is also where non-ASCII fields are turned into typed errors instead of
//! panics.

/// `text` without leading and trailing spaces and tabs (HTTP's OWS); nothing else is trimmed.
pub(crate) fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// The members of a comma-separated list spread over `fields`, in order, each trimmed of OWS,
/// empty members skipped. A field that is not visible ASCII yields one `Err(())` in its place.
pub(crate) fn members<'a>(
    fields: impl IntoIterator<Item = &'a http::HeaderValue>,
) -> impl Iterator<Item = Result<&'a str, ()>> {
    fields.into_iter().flat_map(|field| {
        let (text, bad) = match field.to_str() {
            Ok(text) => (text, None),
            Err(_) => ("", Some(Err(()))),
        };
        bad.into_iter().chain(text.split(',').map(trim_ows).filter(|m| !m.is_empty()).map(Ok))
    })
}
