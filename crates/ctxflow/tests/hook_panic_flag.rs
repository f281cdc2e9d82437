//! A panicking hook is skipped on every thread from the moment it panics, not from the moment
//! the unwind reaches ctxflow: the panic's report (a backtrace, say) can take long, and other
//! threads kept calling the hook meanwhile. (docs/hooks.md, "A hook that panics".)
//!
//! Its own test binary: it installs the process's panic hook before the first ctxflow hook is
//! registered, as an application does at start-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ctxflow::hooks::{self, Hook};
use ctxflow::{AsyncId, AsyncResource};

/// Events raised on another thread while the panic is being reported.
const DURING_REPORT: usize = 100;

struct PanicsOnce {
    calls: AtomicUsize,
}

impl Hook for PanicsOnce {
    fn before(&self, _id: AsyncId) {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the hook's first call panics");
        }
    }
}

/// What the application's panic hook does while it reports: raise events on another thread.
fn raise_events_elsewhere() {
    std::thread::spawn(|| {
        for _ in 0..DURING_REPORT {
            AsyncResource::new("elsewhere").sync_run(|| ());
        }
    })
    .join()
    .unwrap();
}

/// A hook that catches its own panic: it must stay enabled.
struct CatchesItsOwnPanic {
    calls: AtomicUsize,
}

impl Hook for CatchesItsOwnPanic {
    fn before(&self, _id: AsyncId) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _ = std::panic::catch_unwind(|| panic!("caught inside the hook"));
    }
}

#[test]
fn a_panicking_hook_is_skipped_while_its_panic_is_reported() {
    let reporting = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&reporting);
    std::panic::set_hook(Box::new(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            raise_events_elsewhere();
        }
    }));

    let hook = Arc::new(PanicsOnce { calls: AtomicUsize::new(0) });
    let handle = hooks::register(Arc::clone(&hook));
    AsyncResource::new("first").sync_run(|| ());
    assert!(reporting.load(Ordering::SeqCst) >= 1, "the application's panic hook still ran");
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1, "no call while the panic was reported");
    assert!(!handle.is_enabled(), "then the hook was disabled");
    AsyncResource::new("after").sync_run(|| ());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    drop(handle);

    let catching = Arc::new(CatchesItsOwnPanic { calls: AtomicUsize::new(0) });
    let handle = hooks::register(Arc::clone(&catching));
    for _ in 0..3 {
        AsyncResource::new("caught").sync_run(|| ());
    }
    assert!(handle.is_enabled(), "a panic the hook caught itself does not disable it");
    assert_eq!(catching.calls.load(Ordering::SeqCst), 3);
}
