//! `execution_id()` and `trigger_id()`: which resource's code runs now, and which one made it
//! (Node's `executionAsyncId` / `triggerAsyncId`, Node.js test/parallel/test-async-hooks-promise-triggerid.js, test-async-hooks-recursive-stack-runInAsyncScope.js and Node.js test/parallel/test-async-local-storage-deep-stack.js).

use ctxflow::{AsyncId, AsyncResource, ContextVar};

fn ids() -> (AsyncId, AsyncId) {
    (ctxflow::execution_id(), ctxflow::trigger_id())
}

#[test]
fn the_top_level_is_one_triggered_by_zero_on_every_thread() {
    assert_eq!(ids(), (AsyncId::ROOT, AsyncId::NONE));
    assert_eq!((AsyncId::ROOT.as_u64(), AsyncId::NONE.as_u64()), (1, 0));
    assert_eq!(std::thread::spawn(ids).join().unwrap(), (AsyncId::ROOT, AsyncId::NONE));
}

#[test]
fn a_task_runs_as_itself_triggered_by_its_spawner() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        assert_eq!(ids(), (AsyncId::ROOT, AsyncId::NONE), "a block_on body is the top level");
        let (child, grandchild) = ctxflow::spawn(async {
            let me = ids();
            let grandchild = ctxflow::spawn(async { ids() }).await.unwrap();
            tokio::task::yield_now().await;
            assert_eq!(ids(), me, "the same ids after awaits");
            (me, grandchild)
        })
        .await
        .unwrap();
        assert_eq!(child.1, AsyncId::ROOT);
        assert_ne!(child.0, AsyncId::ROOT);
        assert_eq!(grandchild.1, child.0);
        assert_ne!(grandchild.0, child.0);
        assert_eq!(ids(), (AsyncId::ROOT, AsyncId::NONE), "back at the top level");
    });
}

#[test]
fn blocking_jobs_and_threads_are_triggered_by_their_spawner() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (task, blocking, thread) = ctxflow::spawn(async {
            let blocking = ctxflow::spawn_blocking(ids).await.unwrap();
            let thread = ctxflow::thread::spawn(ids).join().unwrap();
            (ids(), blocking, thread)
        })
        .await
        .unwrap();
        assert_eq!(blocking.1, task.0);
        assert_eq!(thread.1, task.0);
        assert_ne!(blocking.0, thread.0);
    });
}

#[test]
fn sync_run_runs_as_the_resource_with_its_trigger() {
    let outer = AsyncResource::new("outer");
    let inner = outer.sync_run(|| AsyncResource::new("inner"));
    assert_eq!(outer.sync_run(ids), (outer.id(), AsyncId::ROOT));
    assert_eq!(inner.sync_run(ids), (inner.id(), outer.id()));
    assert_eq!(inner.trigger_id(), outer.id());
    assert_eq!(ids(), (AsyncId::ROOT, AsyncId::NONE));
}

#[test]
fn a_thousand_nested_resources_restore_their_ids_at_each_level() {
    static DEPTH: ContextVar<u32> = ContextVar::new("depth");

    fn level(n: u32, parent: AsyncId) {
        if n == 1000 {
            return;
        }
        let res = AsyncResource::new("level");
        assert_eq!(res.trigger_id(), parent);
        res.sync_run(|| {
            assert_eq!(ids(), (res.id(), parent));
            DEPTH.sync_scope(n, || {
                level(n + 1, res.id());
                assert_eq!(DEPTH.get(), Some(n));
            });
            assert_eq!(ids(), (res.id(), parent), "level {n} after the inner levels");
        });
        assert_eq!(ctxflow::execution_id(), parent);
    }

    // A big stack: 1000 levels of closures in a debug build.
    let t = std::thread::Builder::new().stack_size(64 << 20).spawn(|| {
        level(0, AsyncId::ROOT);
        ids()
    });
    assert_eq!(t.unwrap().join().unwrap(), (AsyncId::ROOT, AsyncId::NONE));
}

#[test]
fn ids_are_unique_across_many_tasks_on_many_threads() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let mut all = rt.block_on(async {
        let handles: Vec<_> = (0..2000)
            .map(|_| ctxflow::spawn(async { ctxflow::spawn(async { ctxflow::execution_id() }).await.unwrap() }))
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.push(h.await.unwrap());
        }
        all
    });
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n);
    assert!(all.iter().all(|id| id.as_u64() >= 2), "0 and 1 are reserved");
}
