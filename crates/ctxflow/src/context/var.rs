//! `ContextVar`: one named slot in the context, the counterpart of one `AsyncLocalStorage`.
//!
//! A variable holds no value itself; it is a typed key into the current context. Its key is
//! assigned lazily from a global counter on first use, so variables can be `static` (the
//! constructor is `const`) or created at run time, and two variables never share a key even
//! when they have the same name and type.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::bindings::Binding;
use super::error::SetError;
use super::frame::{self, Change, Frame, NOT_INHERITED};
use super::scope::{self, Scoped};
use super::value::Value;
use super::{current, forwarding, names};

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// A context variable: a value that follows the code that runs inside its scope, across
/// `.await`, into tasks and threads spawned through ctxflow, and nowhere else.
///
/// The counterpart of Node's `AsyncLocalStorage` (see the mapping table in the README).
///
/// ```
/// use ctxflow::ContextVar;
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let seen = REQUEST_ID.scope(7, async {
///     tokio::task::yield_now().await;
///     REQUEST_ID.get()
/// }).await;
/// assert_eq!(seen, Some(7));
/// assert_eq!(REQUEST_ID.get(), None);
/// # }
/// ```
pub struct ContextVar<T: Send + Sync + 'static> {
    name: Cow<'static, str>,
    key: AtomicU64,
    flags: u64,
    default: Option<fn() -> T>,
    default_value: OnceLock<T>,
    /// Asked before the context on every read (see [`shadowed_by`](Self::shadowed_by)).
    source: Option<fn() -> Option<T>>,
    _type: PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> ContextVar<T> {
    /// A variable named `name` (for diagnostics only), unset everywhere, inherited by tasks and
    /// threads spawned through ctxflow.
    pub const fn new(name: &'static str) -> Self {
        ContextVar {
            name: Cow::Borrowed(name),
            key: AtomicU64::new(0),
            flags: 0,
            default: None,
            default_value: OnceLock::new(),
            source: None,
            _type: PhantomData,
        }
    }

    /// A variable whose name is only known at run time. Such a variable may be dropped: its
    /// name goes with it, and values of it that frames still hold show as `#<key>` in
    /// [`Snapshot::names`](crate::Snapshot::names).
    ///
    /// ```
    /// let v: ctxflow::ContextVar<u8> = ctxflow::ContextVar::named(format!("shard-{}", 3));
    /// assert_eq!(v.name(), "shard-3");
    /// ```
    pub fn named(name: impl Into<Cow<'static, str>>) -> Self {
        let mut var = Self::new("");
        var.name = name.into();
        var
    }

    /// Gives the variable a default: `get` and `with` see `default()` (computed once) while
    /// the variable is unset. [`is_set`](Self::is_set) tells the two apart.
    ///
    /// ```
    /// static TENANT: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("tenant").with_default(|| "public");
    /// assert_eq!(TENANT.get(), Some("public"));
    /// assert!(!TENANT.is_set());
    /// ```
    pub const fn with_default(mut self, default: fn() -> T) -> Self {
        self.default = Some(default);
        self
    }

    /// Makes reads of the current context ask `source` first: while it returns a value, `get`,
    /// `with`, `get_arc` and `is_set` see that value instead of the context's (and of the
    /// default). For a variable that mirrors state kept by another library, which must win
    /// while it exists: ctxflow-http's `TRACE` is the current OpenTelemetry span's context
    /// whenever there is one. Writes still go to the context, and show again once `source`
    /// returns `None`; a [`Snapshot`](crate::Snapshot) holds the context's value only.
    ///
    /// ```
    /// use std::cell::Cell;
    /// thread_local! { static OUTSIDE: Cell<Option<u32>> = const { Cell::new(None) }; }
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n").shadowed_by(|| OUTSIDE.get());
    ///
    /// N.sync_scope(1, || {
    ///     assert_eq!(N.get(), Some(1));
    ///     OUTSIDE.set(Some(7));
    ///     assert_eq!(N.get(), Some(7));
    ///     N.set(2).unwrap(); // kept in the context, shadowed for now
    ///     assert_eq!(N.get(), Some(7));
    ///     OUTSIDE.set(None);
    ///     assert_eq!(N.get(), Some(2));
    /// });
    /// ```
    pub const fn shadowed_by(mut self, source: fn() -> Option<T>) -> Self {
        self.source = Some(source);
        self
    }

    /// Marks the variable as not inherited: tasks, blocking jobs and threads spawned through
    /// ctxflow start without it (a database transaction must not flow into a detached
    /// background task). An explicit [`Snapshot`](crate::Snapshot) still captures it.
    ///
    /// ```
    /// static TX: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("tx").not_inherited();
    ///
    /// TX.sync_scope(1, || {
    ///     assert_eq!(ctxflow::thread::spawn(|| TX.get()).join().unwrap(), None);
    ///     assert_eq!(ctxflow::Snapshot::capture().get(&TX), Some(1));
    /// });
    /// ```
    pub const fn not_inherited(mut self) -> Self {
        self.flags |= NOT_INHERITED;
        self
    }

    /// The name given at construction.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether tasks and threads spawned through ctxflow inherit this variable.
    pub fn is_inherited(&self) -> bool {
        self.flags & NOT_INHERITED == 0
    }

    /// The variable's key in a frame (assigned on first use).
    #[inline]
    pub(crate) fn key(&self) -> u64 {
        match self.key.load(Ordering::Relaxed) {
            0 => self.assign_key(),
            k => k,
        }
    }

    #[cold]
    fn assign_key(&self) -> u64 {
        let fresh = (NEXT_KEY.fetch_add(1, Ordering::Relaxed) << 1) | self.flags;
        match self.key.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => {
                names::record(fresh, self.name.clone());
                fresh
            }
            Err(winner) => winner,
        }
    }

    /// Calls `f` with a reference to the current value, or to the default while unset, without
    /// cloning it. `None` when the variable is unset and has no default.
    ///
    /// ```
    /// static USER: ctxflow::ContextVar<String> = ctxflow::ContextVar::new("user");
    /// USER.sync_scope("ada".to_string(), || {
    ///     assert_eq!(USER.with(|u| u.map(|u| u.len())), Some(3));
    /// });
    /// ```
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        if let Some(shadow) = self.shadow() {
            return f(Some(&shadow));
        }
        self.with_unshadowed(f)
    }

    /// [`with`](Self::with) without asking a [`shadowed_by`](Self::shadowed_by) source: the
    /// value the context itself holds (or the default). For code that mirrors the source and
    /// must tell the two apart, such as ctxflow-http's injection, which names an OpenTelemetry
    /// span as the parent when there is one and makes a new parent-id under the context's trace
    /// otherwise.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n").shadowed_by(|| Some(7));
    /// N.sync_scope(1, || {
    ///     assert_eq!(N.get(), Some(7));
    ///     assert_eq!(N.with_unshadowed(|n| n.copied()), Some(1));
    /// });
    /// ```
    #[inline]
    pub fn with_unshadowed<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        current::read(|frame| f(self.value_in(frame)))
    }

    /// A clone of the current value (or of the default while unset); `None` when unset
    /// without a default. Never panics. Node: `als.getStore()`.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// assert_eq!(N.get(), None);
    /// assert_eq!(N.sync_scope(5, || N.get()), Some(5));
    /// ```
    #[inline]
    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        self.with(|v| v.cloned())
    }

    /// The current value as a shared `Arc`: the very object the scope was given, not a copy
    /// (`None` while unset, even with a default). For a variable bound to a field of a shared
    /// struct ([`fields!`](crate::fields)) there is no `Arc` of the field: this is a new `Arc`
    /// holding a clone of it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// static LOG: ctxflow::ContextVar<Mutex<Vec<&str>>> = ctxflow::ContextVar::new("log");
    /// LOG.sync_scope(Mutex::new(vec![]), || {
    ///     let a = LOG.get_arc().unwrap();
    ///     a.lock().unwrap().push("x");
    ///     assert!(Arc::ptr_eq(&a, &LOG.get_arc().unwrap()));
    /// });
    /// ```
    pub fn get_arc(&self) -> Option<Arc<T>> {
        if let Some(shadow) = self.shadow() {
            return Some(Arc::new(shadow));
        }
        let key = self.key();
        current::read(|fr| frame::lookup(fr?, key)?.to_arc::<T>())
    }

    /// Whether the variable holds a value in the current context (a default does not count; a
    /// [`shadowed_by`](Self::shadowed_by) source's value does).
    pub fn is_set(&self) -> bool {
        if self.shadow().is_some() {
            return true;
        }
        let key = self.key();
        current::read(|fr| fr.and_then(|fr| frame::lookup(fr, key)).is_some())
    }

    /// The value in `frame`, or the default; no source is asked.
    #[inline]
    pub(crate) fn value_in<'a>(&'a self, frame: Option<&'a Frame>) -> Option<&'a T> {
        let set = frame.and_then(|fr| frame::lookup(fr, self.key())?.downcast_ref::<T>());
        set.or_else(|| self.default_ref())
    }

    /// The value of the [`shadowed_by`](Self::shadowed_by) source, if it has one now.
    #[inline]
    fn shadow(&self) -> Option<T> {
        self.source.and_then(|source| source())
    }

    fn default_ref(&self) -> Option<&T> {
        let make = self.default?;
        Some(self.default_value.get_or_init(make))
    }

    fn change(&self, value: Option<T>) -> Change {
        Change { key: self.key(), value: value.map(Value::new) }
    }

    /// This variable bound to `value`, for setting several variables at once with
    /// [`ctxflow::scope`](crate::scope()) or [`Snapshot::with_bindings`](crate::Snapshot::with_bindings).
    pub fn value(&self, value: T) -> Binding {
        Binding(self.change(Some(value)))
    }

    /// This variable bound to an already erased value (`fields!`).
    pub(crate) fn value_of(&self, value: Value) -> Binding {
        Binding(Change { key: self.key(), value: Some(value) })
    }

    /// This variable unset, for [`ctxflow::scope`](crate::scope()).
    pub fn unset(&self) -> Binding {
        Binding(self.change(None))
    }

    /// Runs `fut` with this variable set to `value`, on top of the context in which the
    /// returned future is first polled. Node: `als.run(store, asyncFn)`.
    ///
    /// When the scope ends (the future completes, is dropped, or its poll panics), the whole
    /// previous context is back.
    pub fn scope<F: Future>(&self, value: T, fut: F) -> Scoped<F> {
        Scoped::setting(self.key(), Arc::new(value), fut)
    }

    /// Runs `f` with this variable set to `value`, then restores the previous context, also
    /// when `f` panics. Node: `als.run(store, fn)`.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let r = N.sync_scope(1, || N.sync_scope(2, || N.get()).zip(N.get()));
    /// assert_eq!(r, Some((2, 1)));
    /// assert_eq!(N.get(), None);
    /// ```
    pub fn sync_scope<R>(&self, value: T, f: impl FnOnce() -> R) -> R {
        scope::sync_run_with([self.change(Some(value))], f)
    }

    /// Runs `fut` with this variable unset (its default, if any, shows). Node: `als.exit`.
    pub fn exit<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped::unsetting(self.key(), fut)
    }

    /// Runs `f` with this variable unset, then restores it. Node: `als.exit(fn)`.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// N.sync_scope(1, || {
    ///     assert_eq!(N.sync_exit(|| N.get()), None);
    ///     assert_eq!(N.get(), Some(1));
    /// });
    /// ```
    pub fn sync_exit<R>(&self, f: impl FnOnce() -> R) -> R {
        scope::sync_run_with([self.change(None)], f)
    }

    /// Sets the variable for the rest of the innermost scope (or task, blocking job, thread
    /// spawned through ctxflow). Node: `als.enterWith(store)`.
    ///
    /// The value never leaks past that scope. With no scope at all, on a plain thread, it sets
    /// the thread's root context; on a thread that runs one piece of work after another (an
    /// async runtime's, or with feature `rayon` a rayon pool's) it returns
    /// [`SetError::NoScope`] instead of leaking into the next task or job run there.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// N.sync_scope(1, || {
    ///     N.set(2).unwrap();
    ///     assert_eq!(N.get(), Some(2));
    /// });
    /// assert_eq!(N.get(), None);
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError> {
        self.write(Some(value))
    }

    /// Unsets the variable for the rest of the innermost scope; same rules as [`set`](Self::set).
    pub fn clear(&self) -> Result<(), SetError> {
        self.write(None)
    }

    fn write(&self, value: Option<T>) -> Result<(), SetError> {
        scope::check_writable()?;
        let change = [self.change(value)];
        match current::read(|f| frame::apply(f, change)) {
            Some(next) => forwarding::replace(next).map_err(|()| SetError::ThreadExiting),
            None => Ok(()),
        }
    }
}

impl<T: Send + Sync + 'static> Drop for ContextVar<T> {
    /// A variable made at run time (a `static` is never dropped) takes its name out of the
    /// table of names, so that making one per request does not grow it.
    fn drop(&mut self) {
        let key = *self.key.get_mut();
        if key != 0 {
            names::forget(key);
        }
    }
}

impl<T: Send + Sync + 'static> std::fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextVar")
            .field("name", &self.name)
            .field("type", &std::any::type_name::<T>())
            .field("inherited", &self.is_inherited())
            .finish()
    }
}
