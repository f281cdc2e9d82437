//! Where a context flows (docs/semantics.md §2): awaits, spawns, blocking jobs, threads,
//! inline combinators, hand-written futures.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ctxflow::{ContextVar, FutureContextExt, JoinSetExt};

static S: ContextVar<&'static str> = ContextVar::new("s");
static A: ContextVar<u32> = ContextVar::new("a");
static B: ContextVar<u32> = ContextVar::new("b");
static TX: ContextVar<u32> = ContextVar::new("tx").not_inherited();

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn a_value_survives_awaits_and_the_awaiter_of_the_scope_is_outside_it() {
    // Node.js doc/api/async_context.md "Usage with async/await"
    rt().block_on(async {
        let (a, b) = S
            .scope("v", async {
                let a = S.get();
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                (a, S.get())
            })
            .await;
        assert_eq!((a, b, S.get()), (Some("v"), Some("v"), None));
    });
}

#[test]
fn an_outer_scope_applies_to_an_inner_future_created_first() {
    // `A.scope(1, B.scope(2, fut))`: each scope adds to the context it is first polled in.
    rt().block_on(async {
        let inner = B.scope(2, async { (A.get(), B.get()) });
        assert_eq!(A.scope(1, inner).await, (Some(1), Some(2)));
    });
}

#[test]
fn spawned_work_captures_the_context_at_the_call() {
    // Node.js doc/api/async_context.md, CPython test_tasks.py test_context_1: tasks, blocking jobs, local tasks, JoinSet tasks and threads.
    rt().block_on(S.scope("X", async {
        let task = ctxflow::spawn(async {
            tokio::task::yield_now().await;
            S.get()
        });
        let blocking = ctxflow::spawn_blocking(|| S.get());
        let thread = ctxflow::thread::spawn(|| S.get());
        let mut set = tokio::task::JoinSet::new();
        set.spawn_in_context(async { S.get() });
        set.spawn_blocking_in_context(|| S.get());
        let local = tokio::task::LocalSet::new();
        let local_seen = local.run_until(async { ctxflow::spawn_local(async { S.get() }).await.unwrap() }).await;
        assert_eq!(task.await.unwrap(), Some("X"));
        assert_eq!(blocking.await.unwrap(), Some("X"));
        assert_eq!(thread.join().unwrap(), Some("X"));
        assert_eq!(local_seen, Some("X"));
        while let Some(r) = set.join_next().await {
            assert_eq!(r.unwrap(), Some("X"));
        }
    }));
}

#[test]
fn plain_tokio_spawn_does_not_inherit_without_the_runtime_feature() {
    // Without ctxflow's runtime hooks a plain task starts from the worker's empty context.
    rt().block_on(S.scope("X", async { assert_eq!(tokio::spawn(async { S.get() }).await.unwrap(), None) }));
}

#[test]
#[allow(clippy::async_yields_async)] // the tasks return join handles on purpose
fn grandchildren_inherit_through_every_level() {
    rt().block_on(S.scope("req", async {
        let seen = ctxflow::spawn(async {
            ctxflow::spawn(async { ctxflow::spawn_blocking(|| ctxflow::thread::spawn(|| S.get()).join().unwrap()) })
                .await
                .unwrap()
                .await
                .unwrap()
        });
        assert_eq!(seen.await.unwrap(), Some("req"));
    }));
}

#[test]
fn a_childs_writes_reach_neither_parent_nor_siblings() {
    // tc39/proposal-async-context PRIOR-ARTS.md
    rt().block_on(S.scope("main", async {
        let t1 = ctxflow::spawn(async {
            S.set("1").unwrap();
            tokio::task::yield_now().await;
            S.get()
        });
        let t2 = ctxflow::spawn(async {
            S.set("2").unwrap();
            tokio::task::yield_now().await;
            S.get()
        });
        assert_eq!(S.get(), Some("main"));
        assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (Some("1"), Some("2")));
        assert_eq!(S.get(), Some("main"));
    }));
}

#[test]
fn variables_marked_not_inherited_stay_behind_but_snapshots_keep_them() {
    rt().block_on(ctxflow::scope((TX.value(1), A.value(2)), async {
        let task = ctxflow::spawn(async { (TX.get(), A.get()) });
        let blocking = ctxflow::spawn_blocking(|| TX.get());
        let thread = ctxflow::thread::spawn(|| TX.get());
        assert_eq!(task.await.unwrap(), (None, Some(2)));
        assert_eq!(blocking.await.unwrap(), None);
        assert_eq!(thread.join().unwrap(), None);
        assert_eq!(ctxflow::Snapshot::capture().get(&TX), Some(1));
        assert_eq!(ctxflow::Snapshot::capture_inherited().get(&TX), None);
        assert_eq!(async { TX.get() }.in_current_context().await, Some(1));
    }));
}

#[test]
fn inline_combinators_share_the_joiners_context() {
    // observed Node.js behaviour (v20, v24): `join!` polls its children inside the parent's poll.
    rt().block_on(async {
        let slow = S.scope("SLOW", async { S.get() });
        let all = S.scope("ALL", async {
            let (a, b) = tokio::join!(slow, async { S.get() });
            (a, b, S.get())
        });
        assert_eq!(all.await, (Some("SLOW"), Some("ALL"), Some("ALL")));
    });
}

struct ReadsInPoll;

impl Future for ReadsInPoll {
    type Output = Option<u32>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u32>> {
        Poll::Ready(A.get())
    }
}

#[test]
fn a_future_that_is_not_spawned_sees_whoever_polls_it() {
    // Node.js test/async-hooks/test-async-local-storage-thenable.js, AsyncContext proposal spec: GeneratorStart, GeneratorResume and Yield sections: hand-written futures and lazily-run async blocks see the poller's context;
    // `in_current_context` binds them to the creator's instead.
    rt().block_on(async {
        let created_in_1 = A.sync_scope(1, || (ReadsInPoll, async { A.get() }, ReadsInPoll.in_current_context()));
        let (plain, lazy, bound) = created_in_1;
        assert_eq!(A.scope(2, plain).await, Some(2));
        assert_eq!(A.scope(2, lazy).await, Some(2));
        assert_eq!(A.scope(2, bound).await, Some(1));
    });
}

#[test]
fn a_runtime_block_on_sees_the_callers_context() {
    // AsyncContext proposal spec: ExecuteModule/observed Node.js behaviour (v20, v24): block_on polls its future on the caller's thread, in the caller's context.
    std::thread::spawn(|| {
        A.set(5).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.block_on(async { A.get() }), Some(5));
    })
    .join()
    .unwrap();
}

#[test]
fn rust_threads_started_plainly_start_empty() {
    // .NET runtime ExecutionContextTests.cs VerifyExecutionContextFlow: std::thread::spawn cannot be intercepted; ctxflow::thread::spawn inherits.
    A.sync_scope(1, || {
        assert_eq!(std::thread::spawn(|| A.get()).join().unwrap(), None);
        assert_eq!(ctxflow::thread::spawn(|| A.get()).join().unwrap(), Some(1));
    });
}

#[test]
fn oneshot_receivers_see_the_awaiting_tasks_context() {
    // ECMAScript spec PerformPromiseThen: the continuation is the awaiting task; the sender's context does not travel.
    rt().block_on(async {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let waiter = A.scope(1, async move {
            rx.await.unwrap();
            A.get()
        });
        let waiter = ctxflow::spawn(waiter);
        A.scope(2, async move { tx.send(()).unwrap() }).await;
        assert_eq!(waiter.await.unwrap(), Some(1));
    });
}

#[test]
#[allow(clippy::async_yields_async)] // the scope returns the child's join handle on purpose
fn exit_reaches_work_spawned_inside_it() {
    // observed Node.js behaviour (v20, v24)
    rt().block_on(A.scope(1, async {
        let spawned = A.exit(async { ctxflow::spawn(async { (A.get(), B.get()) }) }).await;
        assert_eq!(spawned.await.unwrap(), (None, None));
        assert_eq!(A.get(), Some(1));
    }));
}
