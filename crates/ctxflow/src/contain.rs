//! Containing panics of user code that ctxflow calls where a panic must not propagate.
//!
//! ctxflow runs user code in places that have no caller to unwind into: hook callbacks, the
//! `Drop` of a context's values inside tokio's task hooks or a thread-local destructor. A panic
//! there would kill a runtime worker, abort the process (a panic in a thread-local destructor,
//! or during another unwind), or leave ctxflow's per-thread state half changed. Such calls go
//! through [`catch`], which turns the panic into an error and never lets anything escape: the
//! panic payload is user data too (its `Drop` may panic again), and so is reporting (writing to
//! a closed stderr must not panic, as `eprintln!` does).

use std::any::Any;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; `Err(())` if it panicked. Nothing escapes, whatever the payload does.
///
/// `AssertUnwindSafe`: callers only hand over code whose effects on ctxflow's state are
/// restored by guards, or that owns everything it touches (a value being dropped).
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, ()> {
    catch_unwind(AssertUnwindSafe(f)).map_err(drop_payload)
}

/// Drops a panic payload, whose own `Drop` may panic and so yield another payload. Each is
/// dropped in turn; one that is still panicking after a few rounds is leaked rather than
/// dropped, since it could panic again without end.
fn drop_payload(payload: Box<dyn Any + Send>) {
    let mut next = payload;
    for _ in 0..4 {
        match catch_unwind(AssertUnwindSafe(move || drop(next))) {
            Ok(()) => return,
            Err(again) => next = again,
        }
    }
    std::mem::forget(next);
}

/// Drops `value`; a panic in its `Drop` is reported on stderr instead of propagating.
pub(crate) fn drop_quietly<T>(what: &str, value: T) {
    if catch(move || drop(value)).is_err() {
        report(format_args!("a panic in the `Drop` of {what} was contained"));
    }
}

/// A line on stderr; errors (a closed pipe) are ignored, never turned into a panic.
pub(crate) fn report(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "ctxflow: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop");
        }
    }

    #[test]
    fn a_payload_whose_drop_panics_does_not_escape() {
        let r = catch(|| std::panic::panic_any(PanicsOnDrop));
        assert!(r.is_err());
        drop_quietly("a test value", PanicsOnDrop);
        assert_eq!(catch(|| 5), Ok(5));
    }
}
