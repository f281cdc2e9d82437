//! `#[ctxflow::main]` and `#[ctxflow::test]` (feature `macros`): tokio's entry attributes on a
//! runtime that propagates context into plain `tokio::spawn`.
#![cfg(feature = "macros")]

use ctxflow::ContextVar;

static REQUEST: ContextVar<u64> = ContextVar::new("request");

#[ctxflow::test]
async fn a_plain_spawn_inherits_on_the_test_runtime() {
    let seen = REQUEST.scope(7, async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }).await;
    assert_eq!(seen, Some(7));
    assert_eq!(REQUEST.get(), None);
}

#[ctxflow::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_multi_thread_runtime_every_task_sees_its_own_request() {
    let requests: Vec<_> = (0..200u64)
        .map(|i| {
            tokio::spawn(REQUEST.scope(i, async move {
                tokio::task::yield_now().await;
                let child = tokio::spawn(async { REQUEST.get() }).await.unwrap();
                (i, REQUEST.get(), child)
            }))
        })
        .collect();
    for request in requests {
        let (i, own, child) = request.await.unwrap();
        assert_eq!((own, child), (Some(i), Some(i)));
    }
}

#[ctxflow::test]
async fn a_test_may_return_a_result() -> Result<(), String> {
    REQUEST.scope(1, async { if REQUEST.get() == Some(1) { Ok(()) } else { Err("unset".into()) } }).await
}
