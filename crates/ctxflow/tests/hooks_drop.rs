//! A hook whose `Drop` raises events and registers hooks, unregistered from inside a callback:
//! no deadlock, no double borrow. Its own binary, so that no other test's thread holds a copy
//! of the hook list and the drop happens on this thread, at a known point.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ctxflow::AsyncResource;
use ctxflow::hooks::{self, Hook, HookHandle};

static DROPPED: AtomicBool = AtomicBool::new(false);
static INITS: AtomicUsize = AtomicUsize::new(0);

struct Noisy {
    own: Arc<Mutex<Option<HookHandle>>>,
}

impl Hook for Noisy {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (_id, kind, _trigger) = (resource.id(), resource.kind(), resource.trigger());
        if kind == "unregister-me" {
            // Unregisters itself from inside its own callback.
            drop(self.own.lock().unwrap().take());
        }
    }
}

impl Drop for Noisy {
    fn drop(&mut self) {
        drop(AsyncResource::new("made-in-drop"));
        struct Quiet;
        impl Hook for Quiet {}
        hooks::register(Quiet).forget();
        DROPPED.store(true, Ordering::Relaxed);
    }
}

struct CountInits;
impl Hook for CountInits {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (_id, kind, _trigger) = (resource.id(), resource.kind(), resource.trigger());
        if kind == "made-in-drop" {
            INITS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_hook_dropped_after_unregistering_itself_may_raise_events() {
    let _count = hooks::register(CountInits);
    let own = Arc::new(Mutex::new(None));
    *own.lock().unwrap() = Some(hooks::register(Noisy { own: own.clone() }));
    drop(AsyncResource::new("unregister-me"));
    assert!(own.lock().unwrap().is_none());
    // This thread's copy of the list still holds the hook until its next outermost event.
    drop(AsyncResource::new("any"));
    assert!(DROPPED.load(Ordering::Relaxed));
    assert_eq!(INITS.load(Ordering::Relaxed), 1, "the event raised in Drop was delivered");
}
