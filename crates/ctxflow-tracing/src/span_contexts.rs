//! `SpanContexts`: a tracing span carries the ctxflow context it was created in, to code that
//! enters it somewhere else.
//!
//! Libraries already move spans between tasks: tower's `Buffer` captures the caller's current
//! span with each request and enters it in its worker, and `.instrument(span)` enters a span
//! wherever the future is polled. A layer that keeps the creating code's context with the span,
//! and enters it when the span is entered, makes all of them carry ctxflow's context too.
//!
//! Only code that has no context of its own gets the span's: a worker or a connection task that
//! starts empty. Code that runs in a context (a request's handler entering its own spans) keeps
//! it, so a `set` there lasts as it always does, and entering a span costs one check.
//!
//! The other direction comes with it: once the layer is part of a subscriber, work spawned
//! through ctxflow runs inside the span current at its spawn ([`SpansFollowSpawns`], registered
//! once for all the layers alive and unregistered with the last), unless switched off.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use ctxflow::hooks::HookHandle;
use ctxflow::{EnteredSnapshot, Snapshot};
use tracing_core::Subscriber;
use tracing_core::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::spawned_spans::SpansFollowSpawns;

/// A tracing [`Layer`] that gives each span the ctxflow context current when it was created,
/// and enters that context while the span is entered by code that has none; and, unless
/// [`follow_spawns(false)`](Self::follow_spawns), makes work spawned through ctxflow run inside
/// the span current at its spawn.
///
/// ```
/// use ctxflow::ContextVar;
/// use ctxflow_tracing::SpanContexts;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// static TENANT: ContextVar<&str> = ContextVar::new("tenant");
/// let subscriber = tracing_subscriber::registry().with(SpanContexts::default());
/// tracing::subscriber::with_default(subscriber, || {
///     let span = TENANT.sync_scope("acme", || tracing::info_span!("request"));
///     // Elsewhere, with no context (a worker that received the span with a job):
///     assert_eq!(span.in_scope(|| TENANT.get()), Some("acme"));
///     assert_eq!(TENANT.get(), None);
/// });
/// ```
pub struct SpanContexts {
    follow_spawns: bool,
    /// The [`SpansFollowSpawns`] hook, shared by every layer that follows spawns (see
    /// [`shared_spawns_hook`]), taken when the layer joins a subscriber.
    spawns: Option<Arc<HookHandle>>,
}

impl Default for SpanContexts {
    fn default() -> Self {
        SpanContexts { follow_spawns: true, spawns: None }
    }
}

impl std::fmt::Debug for SpanContexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanContexts").field("follow_spawns", &self.follow_spawns).finish_non_exhaustive()
    }
}

impl SpanContexts {
    /// Whether work spawned through ctxflow runs inside the span current at its spawn (default
    /// `true`; the layer registers [`SpansFollowSpawns`] when it joins a subscriber).
    ///
    /// ```
    /// let layer = ctxflow_tracing::SpanContexts::default().follow_spawns(false);
    /// # let _ = layer;
    /// ```
    pub fn follow_spawns(mut self, follow: bool) -> Self {
        self.follow_spawns = follow;
        self
    }
}

/// The one [`SpansFollowSpawns`] hook of the process: registered by the first layer that needs
/// it, unregistered when the last one is dropped. Hooks are process-wide, so a second hook (a
/// global subscriber and a thread's default, both with the layer) would enter the same span
/// twice around every poll of spawned work.
fn shared_spawns_hook() -> Arc<HookHandle> {
    static SHARED: Mutex<Weak<HookHandle>> = Mutex::new(Weak::new());
    // A critical section is an upgrade or a store: a poisoned lock still holds a valid `Weak`.
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(hook) = shared.upgrade() {
        return hook;
    }
    let hook = Arc::new(ctxflow::hooks::register(Arc::new(SpansFollowSpawns::default())));
    *shared = Arc::downgrade(&hook);
    hook
}

/// The context a span was created in.
struct Carried(Snapshot);

/// Span enters on this thread, innermost last, each with the context it entered (`None`: the
/// code had a context of its own, or the span carries none).
struct Enters(RefCell<Vec<(Id, Option<EnteredSnapshot>)>>);

impl Drop for Enters {
    fn drop(&mut self) {
        // Spans still entered as the thread exits (a leaked guard): leaving them here would drop
        // context values inside a thread-local destructor, where a panic aborts the process.
        // ctxflow releases the entries a thread never left at its exit, containing such panics.
        for (_, entered) in self.0.get_mut().drain(..) {
            std::mem::forget(entered);
        }
    }
}

thread_local! {
    static ENTERED: Enters = const { Enters(RefCell::new(Vec::new())) };
}

impl<S> Layer<S> for SpanContexts
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_layer(&mut self, _: &mut S) {
        if self.follow_spawns && self.spawns.is_none() {
            self.spawns = Some(shared_spawns_hook());
        }
    }

    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if Snapshot::current_is_empty() {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Carried(Snapshot::capture()));
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let entered = if Snapshot::current_is_empty() {
            ctx.span(id).and_then(|span| span.extensions().get::<Carried>().and_then(|c| c.0.enter()))
        } else {
            None
        };
        let _ = ENTERED.try_with(|e| e.0.borrow_mut().push((id.clone(), entered)));
    }

    fn on_exit(&self, id: &Id, _: Context<'_, S>) {
        // The last enter of this span; dropped after the borrow ends (leaving may drop values).
        let left = ENTERED.try_with(|e| {
            let mut e = e.0.borrow_mut();
            let at = e.iter().rposition(|(entered, _)| entered == id)?;
            Some(e.remove(at).1)
        });
        drop(left);
    }
}
