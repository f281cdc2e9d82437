//! loom: how the hook registry's changes reach other threads (`src/hooks/dispatch.rs`).
//! Dispatch reads a per-thread copy of the hook list, refreshed at the start of an outermost
//! dispatch when the global version moved; `ENABLED` is a relaxed flag. Checked here: a hook
//! registered (or disabled, or disabled after a panic) by a thread that then signals another is
//! called (or not called) by that other thread's next event; a disable made while a dispatch is
//! in progress elsewhere takes effect there after the outermost dispatch. Run by
//! `scripts/loom.sh`.
#![cfg(loom)]

mod loom_support;

use std::sync::Mutex;

use ctxflow::AsyncResource;
use ctxflow::hooks::{self, Hook, HookHandle};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

/// Records the kinds of the resources it sees created.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl Seen {
    fn kinds(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Hook for Seen {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (_, kind, _) = (resource.id(), resource.kind(), resource.trigger());
        self.0.lock().unwrap().push(kind.to_string());
    }
}

/// One event: creates and drops a resource of `kind`.
fn event(kind: &'static str) {
    drop(AsyncResource::new(kind));
}

/// Runs `change` on another thread, which then raises `done`; returns whether this thread saw
/// `done` before raising its own event, and what that thread returned.
fn race<T: Send + 'static>(change: impl FnOnce() -> T + Send + 'static) -> (bool, T) {
    let done = Arc::new(AtomicBool::new(false));
    let signal = done.clone();
    let other = thread::spawn(move || {
        let out = change();
        signal.store(true, Ordering::Release);
        out
    });
    let saw_done = done.load(Ordering::Acquire);
    event("probe");
    (saw_done, other.join().unwrap())
}

#[test]
fn a_hook_registered_on_another_thread_is_called_by_events_after_it() {
    loom_support::check("hooks: register is published", || {
        let seen = std::sync::Arc::new(Seen::default());
        let hook = seen.clone();
        let (registered, handle) = race(move || hooks::register(hook));
        let probes = seen.kinds().len();
        if registered {
            assert_eq!(probes, 1, "registered before the event: the event reached it");
        }
        event("after-join");
        assert_eq!(seen.kinds().len(), probes + 1, "the registration happened-before: called");
        drop(handle);
        event("after-unregister");
        assert_eq!(seen.kinds().len(), probes + 1, "unregistered: never called again");
    });
}

#[test]
fn a_hook_disabled_on_another_thread_is_not_called_by_events_after_it() {
    loom_support::check("hooks: disable is published", || {
        let seen = std::sync::Arc::new(Seen::default());
        let handle = hooks::register(seen.clone());
        let (disabled, handle) = race(move || {
            handle.disable();
            handle
        });
        let probes = seen.kinds().len();
        if disabled {
            assert_eq!(probes, 0, "disabled before the event: not called");
        }
        event("after-join");
        assert_eq!(seen.kinds().len(), probes);
        handle.enable();
        event("after-enable");
        assert_eq!(seen.kinds().len(), probes + 1);
    });
}

/// Counts its `init` calls; panics in the one for a resource of kind "trip".
struct PanicsOnTrip(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Hook for PanicsOnTrip {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (_, kind, _) = (resource.id(), resource.kind(), resource.trigger());
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if kind == "trip" {
            std::panic::panic_any(Tripped);
        }
    }
}

/// The panic payload of [`PanicsOnTrip`], silenced in the panic hook.
struct Tripped;

#[test]
fn a_hook_that_panicked_on_one_thread_is_skipped_by_every_thread_after() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Tripped>() {
            default(info);
        }
    }));
    loom_support::check("hooks: a panicked hook is disabled everywhere", || {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = std::sync::Arc::new(Seen::default());
        let panicking = hooks::register(PanicsOnTrip(calls.clone()));
        let recorder = hooks::register(seen.clone());
        let (tripped, ()) = race(|| event("trip"));
        let count = || calls.load(std::sync::atomic::Ordering::Relaxed);
        if tripped {
            assert_eq!(count(), 1, "the panic happened-before the probe: the probe skipped the hook");
        }
        assert!(!panicking.is_enabled(), "the panic disabled it");
        assert!(recorder.is_enabled(), "the other hook goes on");
        let mut kinds = seen.kinds();
        kinds.sort();
        assert_eq!(kinds, ["probe", "trip"], "every event still reached the other hook");
        let before = count();
        event("later");
        assert_eq!(count(), before, "disabled on every thread");
        drop((panicking, recorder));
    });
}

/// In `init` of a resource of kind "outer": tells the other thread it is inside a dispatch,
/// waits until that thread has disabled the recorder, then raises a nested event.
struct Outer {
    inside: Arc<AtomicBool>,
    disabled: Arc<AtomicBool>,
}

impl Hook for Outer {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (_, kind, _) = (resource.id(), resource.kind(), resource.trigger());
        if kind == "outer" {
            self.inside.store(true, Ordering::Release);
            loom_support::wait_for(&self.disabled);
            event("nested");
        }
    }
}

#[test]
fn a_disable_takes_effect_after_the_outermost_dispatch_in_progress() {
    loom_support::check("hooks: disable during a dispatch", || {
        let (inside, disabled) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let outer = hooks::register(Outer { inside: inside.clone(), disabled: disabled.clone() });
        let seen = std::sync::Arc::new(Seen::default());
        let recorder: HookHandle = hooks::register(seen.clone());
        let other = thread::spawn(move || {
            loom_support::wait_for(&inside);
            recorder.disable();
            disabled.store(true, Ordering::Release);
            recorder
        });
        event("outer");
        // The dispatch of "outer" started with the recorder enabled: it and the event nested in
        // it keep that list. The next outermost dispatch sees the disable.
        assert_eq!(seen.kinds(), ["nested", "outer"]);
        event("later");
        assert_eq!(seen.kinds(), ["nested", "outer"]);
        let recorder = other.join().unwrap();
        assert!(!recorder.is_enabled());
        drop((outer, recorder));
    });
}
