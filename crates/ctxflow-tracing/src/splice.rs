//! Where the fields go in a formatted event: before its end.
//!
//! tracing-subscriber's formatters end an event with a newline (text; the pretty format with
//! two) or with the JSON object's closing `}` and a newline. The event is formatted into a
//! per-thread buffer first; its end is cut off, the fields are appended to the buffer and the
//! end put back, and the finished line is written out in one piece. A buffer rather than a
//! filtering writer, because the formatters write in many tiny pieces and a layer on each costs
//! more than one copy of the finished line; the fields go into the buffer, a `String`, so that
//! their own small pieces skip the output's dynamic dispatch.

use std::cell::RefCell;
use std::fmt;

/// What ends an event.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tail {
    /// Newlines only (text formats).
    Newlines,
    /// A closing `}` followed by newlines (JSON).
    Object,
}

/// The end of a formatted event, taken off by [`take_end`] and put back after the fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct End {
    /// Whether the end starts with the JSON object's closing `}`.
    brace: bool,
    newlines: usize,
}

impl End {
    /// Appends the end to `buf`.
    pub(crate) fn put_back(self, buf: &mut String) {
        if self.brace {
            buf.push('}');
        }
        buf.extend(std::iter::repeat_n('\n', self.newlines));
    }
}

/// Cuts a formatted event in `buf` back to what comes before the fields, and returns the end
/// that follows them; `None`, with `buf` unchanged, when the event has no place for them
/// (nothing but newlines, or JSON that does not end with `}`), so it is written as it is.
pub(crate) fn take_end(buf: &mut String, tail: Tail) -> Option<End> {
    let content = buf.trim_end_matches('\n');
    let newlines = buf.len() - content.len();
    let (body, brace) = match tail {
        Tail::Newlines if content.is_empty() => return None,
        Tail::Newlines => (content, false),
        Tail::Object => (content.strip_suffix('}')?, true),
    };
    buf.truncate(body.len());
    Some(End { brace, newlines })
}

/// Runs `f` with an empty per-thread buffer (a fresh one if the thread's buffer is in use,
/// which happens only if formatting an event emits another, or is gone at thread exit).
pub(crate) fn with_buffer(f: impl FnOnce(&mut String) -> fmt::Result) -> fmt::Result {
    thread_local! {
        static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
    }
    /// A buffer that grew past this (a huge event) is not kept for the next one.
    const KEEP: usize = 64 * 1024;
    let mut f = Some(f);
    let reused = BUFFER.try_with(|cell| {
        let mut buf = cell.try_borrow_mut().ok()?;
        buf.clear();
        let out = f.take().map(|f| f(&mut buf));
        if buf.capacity() > KEEP {
            *buf = String::new();
        }
        out
    });
    match (reused, f) {
        (Ok(Some(out)), _) => out,
        (_, Some(f)) => f(&mut String::new()),
        // Not reachable: `f` is only taken by the call whose result is returned above.
        (_, None) => Err(fmt::Error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `event` cut by [`take_end`]: the body, and the end as it is put back.
    fn split(event: &str, tail: Tail) -> Option<(String, String)> {
        let mut buf = event.to_string();
        let end = take_end(&mut buf, tail)?;
        let mut put_back = String::new();
        end.put_back(&mut put_back);
        Some((buf, put_back))
    }

    fn pair(body: &str, end: &str) -> Option<(String, String)> {
        Some((body.to_string(), end.to_string()))
    }

    #[test]
    fn text_fields_go_before_the_final_newlines() {
        assert_eq!(split("a\nb\n", Tail::Newlines), pair("a\nb", "\n"));
        assert_eq!(split("a\n\nb\n\n", Tail::Newlines), pair("a\n\nb", "\n\n"));
        assert_eq!(split("no newline", Tail::Newlines), pair("no newline", ""));
    }

    #[test]
    fn nothing_but_newlines_has_no_place() {
        assert_eq!(split("", Tail::Newlines), None);
        assert_eq!(split("\n", Tail::Newlines), None);
        assert_eq!(split("", Tail::Object), None);
    }

    #[test]
    fn json_fields_go_inside_the_outer_object() {
        assert_eq!(split("{\"a\":{\"b\":1}}\n", Tail::Object), pair("{\"a\":{\"b\":1}", "}\n"));
        assert_eq!(split("{}\n", Tail::Object), pair("{", "}\n"));
        assert_eq!(split("{\"x}\":1}", Tail::Object), pair("{\"x}\":1", "}"));
    }

    #[test]
    fn json_without_a_closing_brace_has_no_place_and_is_left_as_it_is() {
        let mut buf = String::from("[1, 2]\n");
        assert_eq!(take_end(&mut buf, Tail::Object), None);
        assert_eq!(buf, "[1, 2]\n");
    }

    #[test]
    fn nested_use_gets_a_fresh_buffer() {
        let mut seen = Vec::new();
        with_buffer(|a| {
            a.push_str("outer");
            with_buffer(|b| {
                seen.push(b.clone());
                b.push_str("inner");
                seen.push(b.clone());
                Ok(())
            })?;
            seen.push(a.clone());
            Ok(())
        })
        .unwrap();
        with_buffer(|b| {
            seen.push(b.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["", "inner", "outer", ""]);
    }
}
