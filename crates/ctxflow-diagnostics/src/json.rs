//! Just enough JSON writing for trace files, so that recording a trace needs no dependency.
//!
//! Only objects of strings, integers, fixed-point microseconds and nested objects are needed;
//! strings are escaped per RFC 8259 (quote, backslash, and every control character).

use std::fmt::Write;

/// Appends `s` as a JSON string literal.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON object being written into a `String`; closed by [`end`](Object::end).
pub(crate) struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn new(out: &'a mut String) -> Object<'a> {
        out.push('{');
        Object { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    pub(crate) fn str(mut self, key: &str, value: &str) -> Self {
        let out = self.key(key);
        string(out, value);
        self
    }

    pub(crate) fn num(mut self, key: &str, value: u64) -> Self {
        let out = self.key(key);
        let _ = write!(out, "{value}");
        self
    }

    pub(crate) fn bool(mut self, key: &str, value: bool) -> Self {
        let out = self.key(key);
        out.push_str(if value { "true" } else { "false" });
        self
    }

    /// `nanos` written as microseconds with three decimals (the trace format's unit).
    pub(crate) fn micros(mut self, key: &str, nanos: u64) -> Self {
        let out = self.key(key);
        let _ = write!(out, "{}.{:03}", nanos / 1000, nanos % 1000);
        self
    }

    /// A nested object, filled by `fill`.
    pub(crate) fn object(mut self, key: &str, fill: impl FnOnce(Object<'_>) -> Object<'_>) -> Self {
        let out = self.key(key);
        fill(Object::new(out)).end();
        self
    }

    pub(crate) fn end(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}e\u{7f}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001e"#.to_owned() + "\u{7f}é\"");
    }

    #[test]
    fn objects_nest_and_separate_fields() {
        let mut out = String::new();
        Object::new(&mut out)
            .str("k", "v")
            .num("n", 3)
            .micros("ts", 1_234_567)
            .object("args", |o| o.bool("x", true))
            .end();
        assert_eq!(out, r#"{"k":"v","n":3,"ts":1234.567,"args":{"x":true}}"#);
    }
}
