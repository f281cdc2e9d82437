//! The opt-in: one method on tokio's own runtime builder.
//!
//! An extension of `tokio::runtime::Builder` rather than a builder of our own, so every tokio
//! setting stays available as it is documented by tokio, and a runtime that propagates context
//! is a plain `tokio::runtime::Runtime` that can go anywhere a runtime goes.

use tokio::runtime::Builder;

use super::site_filter::SiteFilter;
use super::spawn_sites::SpawnSites;
use super::table;
use crate::contain;

/// Makes a tokio runtime propagate ctxflow context into every task spawned on it.
pub trait BuilderExt {
    /// Installs tokio's four task hooks (`on_task_spawn`, `on_before_task_poll`,
    /// `on_after_task_poll`, `on_task_terminate`) so that every task spawned on the runtime,
    /// with plain `tokio::spawn`, `Handle::spawn` or `JoinSet::spawn`, by any code:
    ///
    /// - starts with the inheritable context of the code that spawned it (captured at the spawn
    ///   call, as [`ctxflow::spawn`](crate::spawn) does),
    /// - keeps a `set` made inside it across its awaits, and never leaks it to other tasks,
    /// - gets its own [`AsyncId`](crate::AsyncId) (trigger: the spawner's execution id) and
    ///   fires the [`hooks`](crate::hooks) `init`, `before`/`after` around each poll and
    ///   `destroy` once. (`resolve` is not fired: tokio's hooks do not say whether a task
    ///   completed or was cancelled.)
    ///
    /// Tasks that libraries keep for a connection, a pool or a service (hyper-util's
    /// connections, tower's `Buffer` worker, ...: [`SpawnSites::library_defaults`]) start with
    /// an empty context instead, so that the request that happened to create one does not lend
    /// it its values for good; [`propagate_context_except`](Self::propagate_context_except)
    /// changes the list.
    ///
    /// tokio keeps one callback of each kind per builder, so installing one of these four
    /// hooks yourself after this call replaces ctxflow's; observe tasks through
    /// [`ctxflow::hooks`](crate::hooks) instead. Tasks spawned with `ctxflow::spawn` keep
    /// their own tracking and are not tracked twice. Not covered: `spawn_blocking` (use
    /// [`ctxflow::spawn_blocking`](crate::spawn_blocking)), `LocalSet`, and the `block_on`
    /// future itself, which is not a task (wrap it: `rt.block_on(VAR.scope(v, main()))`).
    ///
    /// ```
    /// use ctxflow::runtime::BuilderExt;
    /// static USER: ctxflow::ContextVar<String> = ctxflow::ContextVar::new("user");
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().propagate_context().build().unwrap();
    /// rt.block_on(USER.scope("ada".to_string(), async {
    ///     let task = tokio::spawn(async {
    ///         USER.set("bob".to_string()).unwrap(); // lasts for the rest of this task
    ///         tokio::task::yield_now().await;
    ///         USER.get()
    ///     });
    ///     assert_eq!(task.await.unwrap().as_deref(), Some("bob"));
    ///     assert_eq!(USER.get().as_deref(), Some("ada"), "the child's write stays in the child");
    /// }));
    /// ```
    fn propagate_context(&mut self) -> &mut Self;

    /// [`propagate_context`](Self::propagate_context), with `empty_at` as the spawn sites whose
    /// tasks start with an empty context.
    ///
    /// ```
    /// use ctxflow::runtime::{BuilderExt, SpawnSites};
    /// static REQUEST: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("request");
    ///
    /// // This doc test's own file stands for a library's pool code.
    /// let here = std::path::Path::new(file!()).parent().unwrap().to_str().unwrap().to_owned();
    /// let sites = SpawnSites::library_defaults().start_empty(&here, "");
    /// let rt = tokio::runtime::Builder::new_current_thread().propagate_context_except(sites).build().unwrap();
    /// let seen = rt.block_on(REQUEST.scope(7, async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }));
    /// assert_eq!(seen, None);
    /// ```
    fn propagate_context_except(&mut self, empty_at: SpawnSites) -> &mut Self;
}

impl BuilderExt for Builder {
    fn propagate_context(&mut self) -> &mut Self {
        self.propagate_context_except(SpawnSites::library_defaults())
    }

    fn propagate_context_except(&mut self, empty_at: SpawnSites) -> &mut Self {
        table::hold();
        let empty_at = SiteFilter::new(empty_at);
        // A panic out of a tokio hook takes the worker down. The table contains the user code it
        // runs (hooks, values' `Drop`) where it runs it; this is the last line.
        self.on_task_spawn(move |meta| boundary(|| table::spawned(&empty_at, meta.id(), meta.spawned_at())))
            // Without hooks registered, a poll enters nothing until its code needs the
            // context (see `table.rs`).
            .on_before_task_poll(|meta| {
                if table::polls_announced() {
                    boundary(|| table::before_poll(meta.id()))
                } else {
                    table::poll_starts(meta.id())
                }
            })
            .on_after_task_poll(|meta| {
                if table::poll_ends() {
                    boundary(|| table::after_poll(meta.id()))
                }
            })
            .on_task_terminate(|meta| boundary(|| table::terminated(meta.id())))
    }
}

#[inline]
fn boundary(f: impl FnOnce()) {
    if contain::catch(f).is_err() {
        contain::report(format_args!("a panic inside a tokio task hook was contained"));
    }
}
