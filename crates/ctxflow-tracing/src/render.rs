//! How the context fields are written into each kind of output.
//!
//! Text values come from the context, and a context value often comes from a request
//! header: control characters are escaped so that a value can neither forge a second log
//! line nor smuggle terminal escape codes. JSON values are always JSON strings, escaped by
//! `serde_json`.
//!
//! Either way a value is written straight into the event's buffer first and checked once in
//! whole: it almost never needs an escape, and its `Display` writes it in pieces that would
//! each be checked on their way through a filter. The rare value that needs one is taken back
//! out of the buffer and written again, escaped.

use std::fmt::{self, Write};

use nu_ansi_term::Style as Ansi;

use crate::context_fields::ContextFields;

/// The shape of the fields in one kind of output: how [`ContextFields::wrap_event_format`]
/// adds them to a format of your own.
///
/// ```
/// use ctxflow_tracing::Style;
/// assert_ne!(Style::Line, Style::Json);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    /// ` key=value key=value` at the end of the event's line (Full, Compact).
    Line,
    /// A line of its own, `    with key=value key=value` (Pretty).
    Block,
    /// `"key":"value"` entries of the event's JSON object (Json).
    Json,
}

/// The keys tracing-subscriber's JSON format writes at the top level of an event's object
/// (`message` and the event's fields too, with `flatten_event(true)`): a context field of one
/// of these names would repeat a key, which JSON consumers such as Elasticsearch reject.
const JSON_KEYS: [&str; 11] = [
    "timestamp",
    "level",
    "fields",
    "target",
    "filename",
    "line_number",
    "span",
    "spans",
    "threadName",
    "threadId",
    "message",
];

/// Writes the fields that have a value in the current context, except those whose name is
/// `taken` by the event itself (its own field of that name wins). `object_was_empty`: JSON,
/// the object has no entry before the fields (so no leading comma). Appended to `out`, the
/// event's own buffer: its small pieces then cost a `String`'s append each.
pub(crate) fn write_fields(
    fields: &ContextFields,
    style: Style,
    ansi: bool,
    object_was_empty: bool,
    taken: &dyn Fn(&str) -> bool,
    out: &mut String,
) -> fmt::Result {
    let mut first = true;
    fields.try_for_each_current(|field, value| {
        if taken(field.name()) || (style == Style::Json && JSON_KEYS.contains(&field.name())) {
            return Ok(());
        }
        let separator = match (style, first) {
            (Style::Line, true) => " ",
            (Style::Block, true) => "\n    with ",
            (Style::Json, true) if object_was_empty => "",
            (Style::Json, _) => ",",
            (_, false) => " ",
        };
        first = false;
        out.push_str(separator);
        if style == Style::Json {
            out.push_str(field.json_key());
            return write_json_value(out, value);
        }
        if ansi {
            write!(out, "{}{}", Ansi::new().italic().paint(field.name()), Ansi::new().dimmed().paint("="))?;
        } else {
            out.push_str(field.name());
            out.push('=');
        }
        let start = out.len();
        write!(out, "{value}")?;
        escape_control_from(out, start);
        Ok(())
    })
}

/// Escapes the control characters that `out` holds from `start` on (see [`EscapeControl`]).
fn escape_control_from(out: &mut String, start: usize) {
    if let Some(at) = first_control(&out[start..]) {
        let raw = out.split_off(start + at);
        // Writing into a `String` cannot fail.
        let _ = EscapeControl(out).write_str(&raw);
    }
}

/// Appends `value` to `out` as a JSON string: as it is between quotes when nothing in it needs
/// an escape, which is then exactly what `serde_json` writes; through `serde_json` otherwise.
fn write_json_value(out: &mut String, value: &dyn fmt::Display) -> fmt::Result {
    let start = out.len();
    out.push('"');
    write!(out, "{value}")?;
    if needs_json_escape(&out[start + 1..]) {
        let raw = out.split_off(start + 1);
        out.truncate(start);
        out.push_str(&serde_json::to_string(&raw).map_err(|_| fmt::Error)?);
    } else {
        out.push('"');
    }
    Ok(())
}

/// Whether `s` holds a character that a JSON string must escape: the quotation mark, the
/// reverse solidus, or a control character U+0000 to U+001F (RFC 8259, section 7). One pass
/// without early exit, which the compiler vectorises, as in [`first_control`].
fn needs_json_escape(s: &str) -> bool {
    s.bytes().fold(false, |found, b| found | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

/// Forwards text, writing control characters as escapes (`\n`, `\u{1b}`).
pub(crate) struct EscapeControl<'a>(pub(crate) &'a mut dyn Write);

impl Write for EscapeControl<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(at) = first_control(rest) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(self.0, "{}", c.escape_debug())?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// Where the first control character of `s` starts (`char::is_control`: U+0000 to U+001F and
/// U+007F to U+009F). A value is written on every log line and almost never holds one, so the
/// common case, printable ASCII only, is settled by one pass without early exit, which the
/// compiler vectorises. Otherwise a scan of bytes: the C1 controls are the only ones past
/// ASCII, and in UTF-8 they are 0xC2 followed by 0x80 to 0x9F.
fn first_control(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let printable_ascii = !bytes.iter().fold(false, |other, &b| other | (b.wrapping_sub(0x20) > 0x5e));
    if printable_ascii {
        return None;
    }
    bytes.iter().enumerate().position(|(i, &b)| {
        b < 0x20 || b == 0x7f || (b == 0xc2 && bytes.get(i + 1).is_some_and(|next| (0x80..=0x9f).contains(next)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let mut out = String::new();
        write!(EscapeControl(&mut out), "a\nb\u{1b}[31mc\td€").unwrap();
        assert_eq!(out, "a\\nb\\u{1b}[31mc\\td€");
    }

    #[test]
    fn the_byte_scan_finds_exactly_the_control_characters() {
        // Every char from U+0000 to U+0800 (the C1 controls, their UTF-8 neighbours, and
        // two-byte chars whose second byte looks like a C1 continuation), alone and after text.
        for c in (0..0x800).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("ab{c}")] {
                let expected = text.char_indices().find(|(_, c)| c.is_control()).map(|(i, _)| i);
                assert_eq!(first_control(&text), expected, "{:?}", c);
            }
        }
        let mut out = String::new();
        write!(EscapeControl(&mut out), "x\u{85}y\u{a0}z").unwrap();
        assert_eq!(out, "x\\u{85}y\u{a0}z");
    }

    #[test]
    fn a_value_written_whole_is_escaped_from_where_it_starts() {
        let mut out = String::from("a\tb=");
        let start = out.len();
        out.push_str("x\ny\u{85}z");
        escape_control_from(&mut out, start);
        assert_eq!(out, "a\tb=x\\ny\\u{85}z", "only the value is escaped");

        let mut plain = String::from("k=v");
        escape_control_from(&mut plain, 2);
        assert_eq!(plain, "k=v");
    }

    #[test]
    fn json_values_are_written_as_serde_json_writes_them() {
        // Every char from U+0000 to U+0800, alone and between text: the escapes, the
        // characters that need none, and two-byte UTF-8.
        for c in (0..0x800).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("ab{c}cd")] {
                let mut out = String::from("{\"k\":");
                write_json_value(&mut out, &text).unwrap();
                let expected = format!("{{\"k\":{}", serde_json::to_string(&text).unwrap());
                assert_eq!(out, expected, "{c:?}");
            }
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        write_json_value(&mut out, &"q\"\\\n€").unwrap();
        assert_eq!(out, r#""q\"\\\n€""#);
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), "q\"\\\n€");
    }
}
