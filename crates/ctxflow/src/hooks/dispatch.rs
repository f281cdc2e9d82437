//! Delivering events to registered hooks.
//!
//! The registry is a mutex-guarded list, but no event takes that lock: each thread keeps its
//! own copy of the enabled hooks and refreshes it only when a global version number moved.
//! So with hooks on, an event costs one atomic load plus the callbacks; with none on, one
//! relaxed load of [`ENABLED`].

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::Hook;
use crate::AsyncId;

static ENABLED: AtomicBool = AtomicBool::new(false);
static VERSION: AtomicU64 = AtomicU64::new(1);
static REGISTRY: Mutex<Vec<Registered>> = Mutex::new(Vec::new());
static NEXT_HOOK: AtomicU64 = AtomicU64::new(1);

struct Registered {
    id: u64,
    hook: Arc<dyn Hook>,
    enabled: bool,
}

#[derive(Default)]
struct Cache {
    version: u64,
    hooks: Vec<(u64, Arc<dyn Hook>)>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    /// Nesting depth of dispatches on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Hooks whose callback is running on this thread (they are skipped by nested events).
    static RUNNING: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

fn registry() -> MutexGuard<'static, Vec<Registered>> {
    // A panic while holding this lock cannot leave the list inconsistent (every critical
    // section is a single push, retain or flag write), so a poisoned lock is still usable.
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn publish(list: &[Registered]) {
    ENABLED.store(list.iter().any(|r| r.enabled), Ordering::Relaxed);
    VERSION.fetch_add(1, Ordering::Release);
}

/// Registers `hook`, enabled. It receives events until the returned handle is dropped or
/// [`unregister`](HookHandle::unregister)ed (use [`forget`](HookHandle::forget) to keep it
/// for the life of the process).
#[must_use = "dropping the handle unregisters the hook"]
pub fn register(hook: impl Hook) -> HookHandle {
    let id = NEXT_HOOK.fetch_add(1, Ordering::Relaxed);
    let mut list = registry();
    list.push(Registered { id, hook: Arc::new(hook), enabled: true });
    publish(&list);
    HookHandle { id }
}

fn update(f: impl FnOnce(&mut Vec<Registered>)) {
    let mut list = registry();
    f(&mut list);
    publish(&list);
}

/// A registered hook. Dropping it unregisters the hook.
#[derive(Debug)]
pub struct HookHandle {
    id: u64,
}

impl HookHandle {
    /// Resumes delivering events to the hook.
    pub fn enable(&self) {
        set_enabled(self.id, true);
    }

    /// Stops delivering events to the hook (until [`enable`](Self::enable)).
    pub fn disable(&self) {
        set_enabled(self.id, false);
    }

    /// Whether the hook currently receives events (false after it panicked).
    pub fn is_enabled(&self) -> bool {
        registry().iter().any(|r| r.id == self.id && r.enabled)
    }

    /// Removes the hook.
    pub fn unregister(self) {}

    /// Keeps the hook registered for the rest of the process.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for HookHandle {
    fn drop(&mut self) {
        let id = self.id;
        update(|list| list.retain(|r| r.id != id));
    }
}

fn set_enabled(id: u64, on: bool) {
    update(|list| {
        for r in list.iter_mut().filter(|r| r.id == id) {
            r.enabled = on;
        }
    });
}

/// Whether any hook is enabled: one relaxed load.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

#[inline]
pub(crate) fn init(id: AsyncId, kind: &str, trigger: AsyncId) {
    if enabled() {
        dispatch("init", |h| h.init(id, kind, trigger));
    }
}

#[inline]
pub(crate) fn before(id: AsyncId) {
    if enabled() {
        dispatch("before", |h| h.before(id));
    }
}

#[inline]
pub(crate) fn after(id: AsyncId) {
    if enabled() {
        dispatch("after", |h| h.after(id));
    }
}

#[inline]
pub(crate) fn resolve(id: AsyncId) {
    if enabled() {
        dispatch("resolve", |h| h.resolve(id));
    }
}

#[inline]
pub(crate) fn destroy(id: AsyncId) {
    if enabled() {
        dispatch("destroy", |h| h.destroy(id));
    }
}

struct Depth;

impl Depth {
    fn enter() -> Depth {
        DEPTH.with(|d| d.set(d.get() + 1));
        Depth
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

#[cold]
fn dispatch(event: &str, call: impl Fn(&dyn Hook)) {
    let Ok(outermost) = DEPTH.try_with(|d| d.get() == 0) else { return };
    let _ = CACHE.try_with(|cache| {
        if outermost {
            let version = VERSION.load(Ordering::Acquire);
            if cache.borrow().version != version {
                let list = registry();
                let mut c = cache.borrow_mut();
                c.version = version;
                c.hooks = list.iter().filter(|r| r.enabled).map(|r| (r.id, r.hook.clone())).collect();
            }
        }
        let _depth = Depth::enter();
        // Shared borrow: nested dispatches borrow it too; it is refreshed only when no
        // dispatch is in progress on this thread.
        let cache = cache.borrow();
        let started = crate::stats::hook_timer();
        for (id, hook) in &cache.hooks {
            if RUNNING.with(|r| r.borrow().contains(id)) {
                continue;
            }
            RUNNING.with(|r| r.borrow_mut().push(*id));
            let result = catch_unwind(AssertUnwindSafe(|| call(&**hook)));
            RUNNING.with(|r| r.borrow_mut().retain(|x| x != id));
            if result.is_err() {
                eprintln!("ctxflow: a hook panicked in `{event}`; it has been disabled");
                set_enabled(*id, false);
            }
        }
        crate::stats::hook_time(started);
    });
}
