//! `rayon::scope` whose spawned closures inherit the context of the code that spawns them.
//!
//! rayon hands each spawned closure a `&rayon::Scope`, and a closure spawned from there must
//! inherit too; so the scope handed out is a thin wrapper whose `spawn` captures the context at
//! the call, on whichever thread makes it.

use std::panic::Location;

use crate::resource::job::Job;

/// `rayon::scope`: `op` and every closure spawned on the scope (transitively) see the context
/// current where they were spawned.
///
/// ```
/// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
/// let (mut a, mut b) = (None, None);
/// N.sync_scope(8, || {
///     ctxflow::rayon::scope(|s| {
///         s.spawn(|s| {
///             a = N.get();
///             s.spawn(|_| b = N.get());
///         });
///     })
/// });
/// assert_eq!((a, b), (Some(8), Some(8)));
/// ```
#[track_caller]
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'_, 'scope>) -> R + Send,
    R: Send,
{
    let job = Job::spawned("rayon", Location::caller(), op);
    // The scope waits for its jobs after `op` returns, outside `op`'s context.
    super::outside_any_context(|| rayon::scope(move |s| job.run_with(|op| op(&Scope { inner: s }))))
}

/// A [`rayon::Scope`] whose [`spawn`](Self::spawn) passes the current context on.
#[derive(Clone, Copy)]
pub struct Scope<'a, 'scope> {
    inner: &'a rayon::Scope<'scope>,
}

impl<'a, 'scope> Scope<'a, 'scope> {
    /// `rayon::Scope::spawn`, with `body` inheriting the current context.
    ///
    /// ```
    /// static N: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("n");
    /// let mut seen = None;
    /// ctxflow::rayon::scope(|s| N.sync_scope(2, || s.spawn(|_| seen = N.get())));
    /// assert_eq!(seen, Some(2));
    /// ```
    #[track_caller]
    pub fn spawn<BODY>(&self, body: BODY)
    where
        BODY: FnOnce(&Scope<'_, 'scope>) + Send + 'scope,
    {
        let job = Job::spawned("rayon", Location::caller(), body);
        self.inner.spawn(move |s| job.run_with(|body| body(&Scope { inner: s })));
    }

    /// The underlying rayon scope, for rayon APIs that take one (what is spawned through it
    /// directly does not inherit).
    ///
    /// ```
    /// ctxflow::rayon::scope(|s| s.as_rayon().spawn(|_| {}));
    /// ```
    pub fn as_rayon(&self) -> &'a rayon::Scope<'scope> {
        self.inner
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}
