//! The synchronisation primitives of the code that is model-checked with loom.
//!
//! The hook registry's publication (`hooks/dispatch.rs`) and the thread's current context
//! (`context/current/`) take their atomics, locks and thread-locals from here. A normal build
//! gets std's, so this module costs nothing; a `--cfg loom` build gets loom's models, so
//! `tests/loom_*.rs` run the real code under every interleaving loom explores
//! (`scripts/loom.sh`, `docs/reliability.md`). Code that is not model-checked keeps using std
//! directly.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread_local;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU64;

/// `std::thread_local!` for a loom build: one value per loom thread. loom's own macro (edition
/// 2018) does not take `const { .. }` initialisers, which only matter for std's, so they are
/// unwrapped here.
#[cfg(loom)]
macro_rules! loom_thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
        $crate::sync::loom_thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
        $crate::sync::loom_thread_local!($($rest)*);
    };
}
#[cfg(loom)]
pub(crate) use loom_thread_local;
#[cfg(loom)]
pub(crate) use loom_thread_local as thread_local;

/// Declares process-wide statics. loom's atomics cannot be built in a `const` and must be
/// fresh in every explored execution, so a loom build makes them `loom::lazy_static!`s (used
/// the same way, through `Deref`).
macro_rules! statics {
    ($($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;)*) => {
        $(
            #[cfg(not(loom))]
            $(#[$attr])*
            static $name: $t = $init;
        )*
        #[cfg(loom)]
        loom::lazy_static! {
            $($(#[$attr])* static ref $name: $t = $init;)*
        }
    };
}
pub(crate) use statics;
