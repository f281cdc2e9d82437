//! Several variables set at once, as one context.
//!
//! Nesting `A.scope(1, B.scope(2, fut))` builds two frames and swaps twice per poll. Node's
//! advice is to "merge contexts instead of nesting run()"; here merging is the cheap path:
//! `ctxflow::scope((A.value(1), B.value(2)), fut)` builds one frame and swaps once.

use std::future::Future;

use super::frame::Change;
use super::scope::{self, Scoped};

/// One variable bound to a value (or unset), made by [`ContextVar::value`] or
/// [`ContextVar::unset`].
///
/// [`ContextVar::value`]: crate::ContextVar::value
/// [`ContextVar::unset`]: crate::ContextVar::unset
#[derive(Clone)]
pub struct Binding(pub(crate) Change);

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binding").field("key", &self.0.key).field("set", &self.0.value.is_some()).finish()
    }
}

/// Anything that lists bindings: one [`Binding`], a tuple of up to eight, an array or a `Vec`.
pub trait IntoBindings: sealed::Sealed {}

impl<T: sealed::Sealed> IntoBindings for T {}

pub(crate) mod sealed {
    /// The conversion itself, kept private so the frame representation stays internal. An
    /// iterator rather than a list, so that `Snapshot::with_bindings` and `sync_scope` build their frame
    /// straight from an array or tuple without first collecting it (three or more bindings
    /// would cost an allocation: one per request in ctxflow-http).
    pub trait Sealed {
        fn into_changes(self) -> impl Iterator<Item = super::Change>;
    }
}

use sealed::Sealed;

impl Sealed for Binding {
    fn into_changes(self) -> impl Iterator<Item = Change> {
        std::iter::once(self.0)
    }
}

impl<const N: usize> Sealed for [Binding; N] {
    fn into_changes(self) -> impl Iterator<Item = Change> {
        self.into_iter().map(|b| b.0)
    }
}

impl Sealed for Vec<Binding> {
    fn into_changes(self) -> impl Iterator<Item = Change> {
        self.into_iter().map(|b| b.0)
    }
}

macro_rules! tuple_bindings {
    (@binding $name:ident) => { Binding };
    ($($name:ident)+) => {
        impl Sealed for ($(tuple_bindings!(@binding $name),)+) {
            #[allow(non_snake_case)]
            fn into_changes(self) -> impl Iterator<Item = Change> {
                let ($($name,)+) = self;
                [$($name.0),+].into_iter()
            }
        }
    };
}

tuple_bindings!(A);
tuple_bindings!(A B);
tuple_bindings!(A B C);
tuple_bindings!(A B C D);
tuple_bindings!(A B C D E);
tuple_bindings!(A B C D E F);
tuple_bindings!(A B C D E F G);
tuple_bindings!(A B C D E F G H);

/// Runs `fut` with all `bindings` applied at once on top of the context in which it is first
/// polled: one frame, one swap per poll.
///
/// ```
/// use ctxflow::ContextVar;
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
/// static TENANT: ContextVar<&str> = ContextVar::new("tenant");
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let seen = ctxflow::scope((REQUEST_ID.value(7), TENANT.value("acme")), async {
///     (REQUEST_ID.get(), TENANT.get())
/// }).await;
/// assert_eq!(seen, (Some(7), Some("acme")));
/// # }
/// ```
pub fn scope<F: Future>(bindings: impl IntoBindings, fut: F) -> Scoped<F> {
    Scoped::changing(bindings.into_changes(), fut)
}

/// Runs `f` with all `bindings` applied at once, then restores the previous context.
///
/// ```
/// use ctxflow::ContextVar;
/// static A: ContextVar<u8> = ContextVar::new("a");
/// static B: ContextVar<u8> = ContextVar::new("b");
/// assert_eq!(ctxflow::sync_scope([A.value(1), B.value(2)], || (A.get(), B.get())), (Some(1), Some(2)));
/// ```
pub fn sync_scope<R>(bindings: impl IntoBindings, f: impl FnOnce() -> R) -> R {
    scope::sync_run_with(bindings.into_changes(), f)
}
