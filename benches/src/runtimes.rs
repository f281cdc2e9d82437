//! The runtimes and global set-up that the benchmarks share.

use std::sync::Once;

use ctxflow::runtime::BuilderExt;
use tokio::runtime::{Builder, Runtime};

/// Worker threads of the multi-thread runtimes (the machine this suite targets has 2 cores).
pub const WORKERS: usize = 2;

/// A current-thread runtime.
pub fn current_thread() -> Runtime {
    current_thread_builder().enable_all().build().expect("a current-thread runtime")
}

/// A multi-thread runtime with [`WORKERS`] workers.
pub fn multi_thread() -> Runtime {
    multi_thread_builder().enable_all().build().expect("a multi-thread runtime")
}

/// The runtime for [`crate::Automatic`]: `flavor` (a [`current_thread`] or [`multi_thread`]
/// builder) with ctxflow's automatic propagation installed.
pub fn propagating(mut flavor: Builder) -> Runtime {
    flavor.enable_all().propagate_context().build().expect("a propagating runtime")
}

/// A current-thread runtime builder.
pub fn current_thread_builder() -> Builder {
    Builder::new_current_thread()
}

/// A multi-thread runtime builder with [`WORKERS`] workers.
pub fn multi_thread_builder() -> Builder {
    let mut b = Builder::new_multi_thread();
    b.worker_threads(WORKERS);
    b
}

/// Installs a `tracing_subscriber::Registry` as the global subscriber (once), so that the
/// `tracing` contender's spans are real: created, entered and reference-counted.
pub fn install_tracing_registry() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only if another global subscriber is already set, which is just as real.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
}
