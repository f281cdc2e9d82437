//! A hook that does nothing in every callback: the price of having hooks on at all.

use ctxflow::AsyncId;
use ctxflow::hooks::{self, Hook, HookHandle};

/// Implements every [`Hook`] callback as a no-op (Node: `createHook({init, before, after,
/// destroy}).enable()` with empty functions).
pub struct NoopHook;

impl Hook for NoopHook {
    fn init(&self, _resource: &ctxflow::hooks::Init<'_>) {}
    fn before(&self, _id: AsyncId) {}
    fn after(&self, _id: AsyncId) {}
    fn resolve(&self, _id: AsyncId) {}
    fn destroy(&self, _id: AsyncId) {}
}

/// Registers a [`NoopHook`]; it stays registered until the handle is dropped.
pub fn register_noop() -> HookHandle {
    hooks::register(NoopHook)
}

/// Runs `f` with a [`NoopHook`] registered.
pub fn with_noop_hook<R>(f: impl FnOnce() -> R) -> R {
    let _hook = register_noop();
    f()
}
