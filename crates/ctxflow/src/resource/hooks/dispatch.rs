//! Delivering events to registered hooks.
//!
//! The registry is a mutex-guarded list, but no event takes that lock: each thread keeps its
//! own copy of the enabled hooks and refreshes it only when a global version number moved, and
//! only at the start of an outermost dispatch. That one rule gives all the re-entrancy
//! guarantees: a callback that registers, enables or disables hooks changes the list, but the
//! dispatch in progress (and every event its callbacks raise) keeps using the copy it started
//! with. With no hook enabled, an event costs one relaxed load of [`ENABLED`].
//!
//! A hook's panic is contained where the hook is called, and the hook is skipped everywhere
//! from the moment it panics: a panic hook placed in front of the application's (which still
//! runs) flags the callback running on the panicking thread before the panic is reported or
//! unwound, since other threads would otherwise keep calling the hook for as long as the report
//! takes (a backtrace, say). If the callback catches its own panic and returns, the flag is
//! cleared; if the panic reaches ctxflow, the hook is disabled.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Once};

use super::Hook;
use crate::contain;
use crate::context::current;
use crate::context::error::SetError;
use crate::resource::ids::AsyncId;
use crate::sync::{AtomicBool, AtomicU64, Mutex, MutexGuard, statics, thread_local};

// Model-checked under loom (`tests/loom_hooks.rs`): hence `crate::sync`.
statics! {
    static ENABLED: AtomicBool = AtomicBool::new(false);
    static VERSION: AtomicU64 = AtomicU64::new(1);
    static REGISTRY: Mutex<Vec<Registered>> = Mutex::new(Vec::new());
    static NEXT_HOOK: AtomicU64 = AtomicU64::new(1);
}

/// A registered hook, shared by the registry and the per-thread copies.
struct Entry {
    id: u64,
    hook: Box<dyn Hook>,
    /// Set when a callback panicked: every thread skips the hook from then on, without
    /// waiting for its copy of the list to be refreshed.
    panicked: AtomicBool,
    /// Set by the panic hook while a callback of this hook is panicking (see the module docs).
    panicking: AtomicBool,
}

impl Entry {
    fn skipped(&self) -> bool {
        self.panicked.load(Ordering::Relaxed) || self.panicking.load(Ordering::Relaxed)
    }
}

struct Registered {
    entry: Arc<Entry>,
    enabled: bool,
}

/// One enabled hook in a thread's copy of the list.
struct Copied {
    entry: Arc<Entry>,
    /// Its callback is running on this thread: events it raises skip it.
    busy: Cell<bool>,
}

/// A thread's side of the dispatch: one thread-local, so that an event touches one.
struct Local {
    /// Dispatches in progress on this thread.
    depth: Cell<u32>,
    /// The registry version `hooks` was copied at.
    version: Cell<u64>,
    /// The enabled hooks, as of `version`. Shared-borrowed by dispatches (nested ones too), and
    /// replaced only by [`rebuild`], with no dispatch in progress: so no callback is running and
    /// every `busy` is false when it is replaced.
    hooks: RefCell<Vec<Copied>>,
    /// The id of the hook whose callback runs innermost on this thread (0: none), for the
    /// panic hook.
    running: Cell<u64>,
}

impl Drop for Local {
    fn drop(&mut self) {
        // At thread exit, this copy may hold the last reference to a hook unregistered since
        // the thread's last event: its `Drop` is user code, and a panic in a thread-local
        // destructor aborts the process.
        let hooks = std::mem::take(self.hooks.get_mut());
        contain::drop_quietly("a hook released at thread exit", hooks);
    }
}

thread_local! {
    static LOCAL: Local = const {
        Local { depth: Cell::new(0), version: Cell::new(0), hooks: RefCell::new(Vec::new()), running: Cell::new(0) }
    };
}

/// Puts [`flag_panicking`] in front of the process's panic hook, once.
fn install_panic_flag() {
    static INSTALLED: Once = Once::new();
    // `set_hook` panics when called during a panic; the unwind still disables the hook then.
    // A loom model's thread-locals exist only inside the model, and a panic hook runs outside it
    // too: the models check the unwind path instead.
    if std::thread::panicking() || cfg!(loom) {
        return;
    }
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            flag_panicking();
            previous(info);
        }));
    });
}

/// In the panic hook: flags the hook whose callback is running on this thread, if any.
fn flag_panicking() {
    // The dispatch calling it holds this thread's copy of the list (a shared borrow), entry
    // included.
    let _ = LOCAL.try_with(|local| {
        let id = local.running.get();
        if id == 0 {
            return;
        }
        if let Ok(hooks) = local.hooks.try_borrow()
            && let Some(copied) = hooks.iter().find(|c| c.entry.id == id)
        {
            copied.entry.panicking.store(true, Ordering::Relaxed);
        }
    });
}

fn registry() -> MutexGuard<'static, Vec<Registered>> {
    // A panic while holding this lock cannot leave the list inconsistent (every critical
    // section is a single push, retain or flag write, and runs no hook code), so a poisoned
    // lock is still usable.
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Changes the registry; entries removed by `f` are dropped after the lock is released, so a
/// hook whose `Drop` raises events (or registers hooks) cannot deadlock.
fn update(f: impl FnOnce(&mut Vec<Registered>) -> Vec<Registered>) {
    let removed = {
        let mut list = registry();
        let removed = f(&mut list);
        ENABLED.store(list.iter().any(|r| r.enabled), Ordering::Relaxed);
        VERSION.fetch_add(1, Ordering::Release);
        removed
    };
    drop(removed);
}

/// Registers `hook`, enabled. It receives events until the returned handle is dropped or
/// [`unregister`](HookHandle::unregister)ed (use [`forget`](HookHandle::forget) to keep it
/// for the life of the process).
///
/// Called from inside a hook callback, the new hook starts receiving events on this thread
/// once the outermost event being dispatched here is over.
///
/// ```
/// struct Quiet;
/// impl ctxflow::hooks::Hook for Quiet {}
/// let handle = ctxflow::hooks::register(Quiet);
/// assert!(handle.is_enabled());
/// ```
#[must_use = "dropping the handle unregisters the hook"]
pub fn register(hook: impl Hook) -> HookHandle {
    install_panic_flag();
    let id = NEXT_HOOK.fetch_add(1, Ordering::Relaxed);
    let entry = Arc::new(Entry {
        id,
        hook: Box::new(hook),
        panicked: AtomicBool::new(false),
        panicking: AtomicBool::new(false),
    });
    update(|list| {
        list.push(Registered { entry, enabled: true });
        Vec::new()
    });
    HookHandle { id }
}

/// A registered hook. Dropping it unregisters the hook. Node: the `AsyncHook` returned by
/// `createHook`.
#[derive(Debug)]
pub struct HookHandle {
    id: u64,
}

impl HookHandle {
    /// Resumes delivering events to the hook, also to a hook that was disabled because it
    /// panicked. Node: `asyncHook.enable()`.
    ///
    /// ```
    /// struct Quiet;
    /// impl ctxflow::hooks::Hook for Quiet {}
    /// let handle = ctxflow::hooks::register(Quiet);
    /// handle.disable();
    /// handle.enable();
    /// assert!(handle.is_enabled());
    /// ```
    pub fn enable(&self) {
        self.set_enabled(true);
    }

    /// Stops delivering events to the hook (until [`enable`](Self::enable)). Node:
    /// `asyncHook.disable()`.
    ///
    /// ```
    /// struct Quiet;
    /// impl ctxflow::hooks::Hook for Quiet {}
    /// let handle = ctxflow::hooks::register(Quiet);
    /// handle.disable();
    /// assert!(!handle.is_enabled());
    /// ```
    pub fn disable(&self) {
        self.set_enabled(false);
    }

    /// Whether the hook currently receives events (false once it panicked).
    ///
    /// ```
    /// struct Quiet;
    /// impl ctxflow::hooks::Hook for Quiet {}
    /// assert!(ctxflow::hooks::register(Quiet).is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        registry().iter().any(|r| r.entry.id == self.id && r.enabled && !r.entry.skipped())
    }

    /// Removes the hook (the same as dropping the handle).
    ///
    /// ```
    /// struct Quiet;
    /// impl ctxflow::hooks::Hook for Quiet {}
    /// ctxflow::hooks::register(Quiet).unregister();
    /// ```
    pub fn unregister(self) {}

    /// Keeps the hook registered for the rest of the process.
    ///
    /// ```
    /// struct Quiet;
    /// impl ctxflow::hooks::Hook for Quiet {}
    /// ctxflow::hooks::register(Quiet).forget();
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }

    fn set_enabled(&self, on: bool) {
        let id = self.id;
        update(|list| {
            for r in list.iter_mut().filter(|r| r.entry.id == id) {
                r.enabled = on;
                if on {
                    r.entry.panicked.store(false, Ordering::Relaxed);
                    r.entry.panicking.store(false, Ordering::Relaxed);
                }
            }
            Vec::new()
        });
    }
}

impl Drop for HookHandle {
    fn drop(&mut self) {
        let id = self.id;
        update(|list| {
            let (removed, kept) = std::mem::take(list).into_iter().partition(|r| r.entry.id == id);
            *list = kept;
            removed
        });
    }
}

/// Whether any hook is enabled: one relaxed load.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

#[inline]
pub(crate) fn init(resource: &super::Init<'_>) {
    if enabled() {
        dispatch("init", |h| h.init(resource));
    }
}

/// `before`, for a caller that has just checked [`enabled`] (so that entering a resource
/// costs one load, not two).
pub(crate) fn before(id: AsyncId) {
    dispatch("before", |h| h.before(id));
}

/// `after`, for a caller whose `before` was dispatched: delivered even if the last hook was
/// disabled in between (to whichever hooks this thread's list then holds).
pub(crate) fn after(id: AsyncId) {
    dispatch("after", |h| h.after(id));
}

#[inline]
#[cfg(feature = "tokio")]
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

/// One more dispatch in progress on this thread, until dropped (also on unwind).
struct Depth<'a>(&'a Local);

impl<'a> Depth<'a> {
    fn enter(local: &'a Local) -> Depth<'a> {
        local.depth.set(local.depth.get() + 1);
        Depth(local)
    }
}

impl Drop for Depth<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.0.depth.get() - 1);
    }
}

/// Brings this thread's copy of the hook list up to date.
#[inline]
fn refresh(local: &Local) {
    let version = VERSION.load(Ordering::Acquire);
    if local.version.get() != version {
        rebuild(local, version);
    }
}

/// Copies the registry's enabled hooks as of `version`. Hooks that drop out are released after
/// the copy is rebuilt, outside every lock and borrow.
#[cold]
#[inline(never)]
fn rebuild(local: &Local, version: u64) {
    let fresh: Vec<Copied> = registry()
        .iter()
        .filter(|r| r.enabled)
        .map(|r| Copied { entry: r.entry.clone(), busy: Cell::new(false) })
        .collect();
    local.version.set(version);
    let stale = local.hooks.replace(fresh);
    // The last reference to an unregistered hook runs its `Drop`, user code, here.
    contain::drop_quietly("an unregistered hook", stale);
}

#[cold]
fn dispatch(event: &str, call: impl Fn(&dyn Hook)) {
    let _ = LOCAL.try_with(|local| {
        if local.depth.get() == 0 {
            refresh(local);
        }
        let _depth = Depth::enter(local);
        let _refused = current::WritesRefused::enter(SetError::InHook);
        // Shared borrow: nested dispatches borrow it too; it is only replaced by `refresh`,
        // which runs when no dispatch is in progress on this thread.
        let hooks = local.hooks.borrow();
        for copied in hooks.iter() {
            call_one(local, copied, event, &call);
        }
    });
}

fn call_one(local: &Local, copied: &Copied, event: &str, call: &impl Fn(&dyn Hook)) {
    let entry = &copied.entry;
    if copied.busy.get() || entry.skipped() {
        return;
    }
    copied.busy.set(true);
    let outer = local.running.replace(entry.id);
    // Nothing unwinds past here: the callback's panic is caught, so the flags are always reset.
    let result = contain::catch(|| call(&*entry.hook));
    local.running.set(outer);
    copied.busy.set(false);
    if result.is_ok() {
        // A panic inside the callback that the callback caught itself. (Checked first: a store
        // on every event would make every thread write this shared cache line.)
        if entry.panicking.load(Ordering::Relaxed) {
            entry.panicking.store(false, Ordering::Relaxed);
        }
        return;
    }
    entry.panicked.store(true, Ordering::Relaxed);
    contain::report(format_args!("a hook panicked in `{event}`; it has been disabled"));
    let id = entry.id;
    update(|list| {
        for r in list.iter_mut().filter(|r| r.entry.id == id) {
            r.enabled = false;
        }
        Vec::new()
    });
}
