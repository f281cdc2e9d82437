//! Hooks cannot write into the context they report on: a `set` inside a callback is refused
//! with a typed error, while a scope the callback enters itself can be written. In a binary of
//! its own, so that only this test's events reach the hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ctxflow::{ContextVar, SetError};

static REQ: ContextVar<u32> = ContextVar::new("req");

/// A hook that tries to `set` in every callback, and to `set` inside a scope of its own.
struct Writer {
    refused: AtomicUsize,
    other: AtomicUsize,
    inner_ok: AtomicUsize,
}

impl ctxflow::hooks::Hook for Writer {
    fn init(&self, _: &ctxflow::hooks::Init<'_>) {
        self.try_set();
    }
    fn before(&self, _: ctxflow::AsyncId) {
        self.try_set();
    }
    fn after(&self, _: ctxflow::AsyncId) {
        self.try_set();
    }
}

impl Writer {
    fn try_set(&self) {
        match REQ.set(13) {
            Err(SetError::InHook) => self.refused.fetch_add(1, Ordering::Relaxed),
            _ => self.other.fetch_add(1, Ordering::Relaxed),
        };
        if REQ.sync_scope(1, || REQ.set(2).map(|()| REQ.get())) == Ok(Some(2)) {
            self.inner_ok.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_set_inside_a_hook_is_refused_and_a_scope_inside_it_can_be_written() {
    let writer =
        Arc::new(Writer { refused: AtomicUsize::new(0), other: AtomicUsize::new(0), inner_ok: AtomicUsize::new(0) });
    let registration = ctxflow::hooks::register(writer.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let mut requests = Vec::new();
        for req in 0..100u32 {
            requests.push(tokio::spawn(REQ.scope(req, async move {
                let child = ctxflow::spawn(async move {
                    tokio::task::yield_now().await;
                    REQ.get()
                });
                tokio::task::yield_now().await;
                (REQ.get(), child.await.unwrap())
            })));
        }
        for (req, r) in requests.into_iter().enumerate() {
            assert_eq!(r.await.unwrap(), (Some(req as u32), Some(req as u32)), "no hook wrote into request {req}");
        }
    });
    // Workers joined: no callback is still running when the counts are read.
    drop(rt);
    registration.unregister();
    let refused = writer.refused.load(Ordering::Relaxed);
    assert!(refused >= 300, "init, before and after of 100 children at least: {refused}");
    assert_eq!(writer.other.load(Ordering::Relaxed), 0);
    assert_eq!(writer.inner_ok.load(Ordering::Relaxed), refused);
}
