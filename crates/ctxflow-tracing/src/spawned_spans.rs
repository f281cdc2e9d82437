//! `SpansFollowSpawns`: work spawned through ctxflow runs inside the tracing span that was
//! current where it was spawned.
//!
//! `ctxflow::spawn` carries the context into a task, but a tracing span only follows a future
//! that someone wrapped with `.instrument(..)`. Spans opened in spawned work then have no
//! parent, and with tracing-opentelemetry each becomes the root of a trace of its own. This
//! hook closes the gap the way `Instrumented` does, with ctxflow's lifecycle events instead of
//! a wrapper: at `init` (on the spawning thread, inside the spawner's code) it keeps a handle
//! on the current span, it enters that span in `before` and leaves it in `after` (every poll,
//! callback or thread body of the resource), and it lets the span go at `destroy`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use ctxflow::AsyncId;
use ctxflow::hooks::{Hook, Init};
use tracing_core::dispatcher::{self, Dispatch};
use tracing_core::span;

/// Lock stripes of the id-to-span map: a poll locks one, chosen by the resource's id.
const STRIPES: usize = 16;

/// A [`Hook`](ctxflow::hooks::Hook) that makes tasks, blocking jobs, threads and rayon jobs
/// spawned through ctxflow (and, on a runtime built with `propagate_context()`, plain
/// `tokio::spawn` tasks) run inside the tracing span current at their spawn, so that spans they
/// open are children of it.
///
/// Register it once, next to the subscriber. Resources created while no span is current are
/// left alone, and so is a resource that enters spans of its own.
///
/// ```
/// use std::sync::Arc;
/// use ctxflow_tracing::SpansFollowSpawns;
///
/// let handle = ctxflow::hooks::register(Arc::new(SpansFollowSpawns::default()));
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let request = tracing::info_span!("request");
/// let _ = ctxflow::spawn(async {
///     // Inside `request`: a span opened here is its child.
///     tracing::info_span!("child").in_scope(|| ());
/// })
/// .await;
/// # let _ = request;
/// # });
/// handle.unregister();
/// ```
#[derive(Default)]
pub struct SpansFollowSpawns {
    spans: [Mutex<HashMap<AsyncId, Carried>>; STRIPES],
}

/// The span a resource runs in, and the dispatcher it belongs to.
struct Carried {
    dispatch: Dispatch,
    span: span::Id,
}

impl std::fmt::Debug for SpansFollowSpawns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpansFollowSpawns").finish_non_exhaustive()
    }
}

impl SpansFollowSpawns {
    fn stripe(&self, id: AsyncId) -> MutexGuard<'_, HashMap<AsyncId, Carried>> {
        // A critical section is one insert, lookup or remove: a poisoned stripe is consistent.
        self.spans[(id.as_u64() as usize) % STRIPES].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the dispatcher and span of resource `id`, if it carries one.
    fn with(&self, id: AsyncId, f: impl FnOnce(&Dispatch, &span::Id)) {
        let carried = self.stripe(id).get(&id).map(|c| (c.dispatch.clone(), c.span.clone()));
        if let Some((dispatch, span)) = carried {
            f(&dispatch, &span);
        }
    }
}

impl Hook for SpansFollowSpawns {
    fn init(&self, resource: &Init<'_>) {
        let carried = dispatcher::get_default(|dispatch| {
            let span = dispatch.current_span().id()?.clone();
            // Our own reference, so the span outlives its creator's while the resource runs.
            let span = dispatch.clone_span(&span);
            Some(Carried { dispatch: dispatch.clone(), span })
        });
        if let Some(carried) = carried {
            self.stripe(resource.id()).insert(resource.id(), carried);
        }
    }

    fn before(&self, id: AsyncId) {
        self.with(id, |dispatch, span| dispatch.enter(span));
    }

    fn after(&self, id: AsyncId) {
        self.with(id, |dispatch, span| dispatch.exit(span));
    }

    fn destroy(&self, id: AsyncId) {
        let carried = self.stripe(id).remove(&id);
        if let Some(Carried { dispatch, span }) = carried {
            dispatch.try_close(span);
        }
    }
}
