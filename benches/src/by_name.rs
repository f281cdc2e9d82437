//! Contenders picked by name. The probes take a contender's name from their command line or
//! from a group's list; this one table turns the name into the contender's type, so that a new
//! contender is added in one place and every probe can run it.

use crate::hook::with_noop_hook;
use crate::{Automatic, Contender, Ctxflow, Opentelemetry, Plain, TaskLocal, Tracing};

/// What to run for a contender picked by name.
pub trait Visitor {
    /// Runs for contender `C`.
    fn visit<C: Contender>(self);
}

/// Name of ctxflow with a no-op hook registered while it runs: the price of having hooks on.
pub const NOOP_HOOK: &str = "ctxflow_noop_hook";

/// Runs `visitor` for the contender called `name` (each contender's [`Contender::NAME`], or
/// [`NOOP_HOOK`]); false if no contender has that name.
///
/// ```
/// use ctxflow_benches::by_name::{Visitor, visit};
/// use ctxflow_benches::Contender;
///
/// struct Read(u64);
/// impl Visitor for &mut Read {
///     fn visit<C: Contender>(self) {
///         self.0 = C::sync_scope(7, C::read);
///     }
/// }
/// let mut read = Read(0);
/// assert!(visit("task_local", &mut read));
/// assert_eq!(read.0, 7);
/// assert!(!visit("nope", &mut read));
/// ```
pub fn visit(name: &str, visitor: impl Visitor) -> bool {
    match name {
        Plain::NAME => visitor.visit::<Plain>(),
        Ctxflow::NAME => visitor.visit::<Ctxflow>(),
        NOOP_HOOK => with_noop_hook(|| visitor.visit::<Ctxflow>()),
        Automatic::NAME => visitor.visit::<Automatic>(),
        TaskLocal::NAME => visitor.visit::<TaskLocal>(),
        Tracing::NAME => visitor.visit::<Tracing>(),
        Opentelemetry::NAME => visitor.visit::<Opentelemetry>(),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the name of the contender visited.
    struct Seen<'a>(&'a mut Vec<&'static str>);

    impl Visitor for Seen<'_> {
        fn visit<C: Contender>(self) {
            self.0.push(C::NAME);
        }
    }

    #[test]
    fn each_name_picks_its_own_contender() {
        let mut seen = Vec::new();
        for name in ["tokio", "ctxflow", NOOP_HOOK, "ctxflow_runtime", "task_local", "tracing", "opentelemetry"] {
            assert!(visit(name, Seen(&mut seen)), "{name}");
        }
        assert!(!visit("node", Seen(&mut seen)));
        // The no-op hook's run is ctxflow's, with the hook registered around it.
        assert_eq!(seen, ["tokio", "ctxflow", "ctxflow", "ctxflow_runtime", "task_local", "tracing", "opentelemetry"]);
    }
}
