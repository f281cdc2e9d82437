//! Where the fields go in a formatted event: before its end.
//!
//! tracing-subscriber's formatters end an event with a newline (text; the pretty format with
//! two) or with the JSON object's closing `}` and a newline. The event is formatted into a
//! per-thread buffer first, then written out in three pieces: everything up to that end, the
//! fields, and the end. (Streaming the event through a filtering writer instead was measured:
//! the formatters write in many tiny pieces, and an extra layer on each cost more than the one
//! copy of the finished line.)

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

/// Splits a formatted event into what comes before the fields and the end that follows them;
/// `None` when the event has no place for them (nothing but newlines, or JSON that does not
/// end with `}`), so it is written unchanged.
pub(crate) fn split_end(event: &str, tail: Tail) -> Option<(&str, &str)> {
    let content = event.trim_end_matches('\n');
    let body = match tail {
        Tail::Newlines => Some(content).filter(|c| !c.is_empty()),
        Tail::Object => content.strip_suffix('}'),
    }?;
    Some(event.split_at(body.len()))
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

    #[test]
    fn text_fields_go_before_the_final_newlines() {
        assert_eq!(split_end("a\nb\n", Tail::Newlines), Some(("a\nb", "\n")));
        assert_eq!(split_end("a\n\nb\n\n", Tail::Newlines), Some(("a\n\nb", "\n\n")));
        assert_eq!(split_end("no newline", Tail::Newlines), Some(("no newline", "")));
    }

    #[test]
    fn nothing_but_newlines_has_no_place() {
        assert_eq!(split_end("", Tail::Newlines), None);
        assert_eq!(split_end("\n", Tail::Newlines), None);
        assert_eq!(split_end("", Tail::Object), None);
    }

    #[test]
    fn json_fields_go_inside_the_outer_object() {
        assert_eq!(split_end("{\"a\":{\"b\":1}}\n", Tail::Object), Some(("{\"a\":{\"b\":1}", "}\n")));
        assert_eq!(split_end("{}\n", Tail::Object), Some(("{", "}\n")));
        assert_eq!(split_end("{\"x}\":1}", Tail::Object), Some(("{\"x}\":1", "}")));
    }

    #[test]
    fn json_without_a_closing_brace_has_no_place() {
        assert_eq!(split_end("[1, 2]\n", Tail::Object), None);
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
