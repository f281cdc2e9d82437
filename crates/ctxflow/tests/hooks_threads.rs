//! Hooks on many threads at once: thousands of tasks, blocking jobs and resources on a
//! multi-thread runtime, while other hooks are registered and removed; every lifecycle of the
//! test's resources stays valid and inits balance destroys.

mod hooks_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ctxflow::hooks::{self, Hook};
use ctxflow::{AsyncResource, ContextVar};
use hooks_support::{Log, TEST};

static REQUEST: ContextVar<u32> = ContextVar::new("request");

#[test]
fn thousands_of_resources_on_four_workers_keep_a_valid_lifecycle() {
    const TAG: &str = "threads";
    let (log, _hook) = Log::register(TAG);

    // Churn: another thread registers and drops hooks all along (they see partial lifecycles).
    struct Nothing;
    impl Hook for Nothing {
        fn before(&self, _: ctxflow::AsyncId) {}
    }
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let churn = std::thread::spawn(move || {
        let mut n = 0;
        while !s.load(Ordering::Relaxed) && n < 100_000 {
            let h = hooks::register(Nothing);
            h.disable();
            h.enable();
            drop(h);
            n += 1;
        }
    });

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let checked = rt.block_on(TEST.scope(TAG, async {
        let requests: Vec<_> = (0..2000u32)
            .map(|i| {
                REQUEST.sync_scope(i, || {
                    ctxflow::spawn(async move {
                        let me = ctxflow::execution_id();
                        let child = ctxflow::spawn(async move {
                            tokio::task::yield_now().await;
                            (REQUEST.get(), ctxflow::trigger_id())
                        });
                        let res = AsyncResource::new("callback");
                        let blocking = if i % 10 == 0 {
                            Some(ctxflow::spawn_blocking(move || res.sync_run(|| REQUEST.get())))
                        } else {
                            assert_eq!(res.sync_run(|| REQUEST.get()), Some(i));
                            None
                        };
                        assert_eq!(child.await.unwrap(), (Some(i), me));
                        if let Some(b) = blocking {
                            assert_eq!(b.await.unwrap(), Some(i));
                        }
                        assert_eq!(REQUEST.get(), Some(i));
                        1
                    })
                })
            })
            .collect();
        let mut n = 0;
        for r in requests {
            n += r.await.unwrap();
        }
        n
    }));
    drop(rt);
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();

    assert_eq!(checked, 2000);
    let all = log.all();
    let inits = all.iter().filter(|e| e.1.short() == "init").count();
    let destroys = all.iter().filter(|e| e.1.short() == "destroy").count();
    // Per request: the task, its child, its AsyncResource, and every tenth a blocking job.
    assert_eq!(inits, 2000 * 3 + 200);
    assert_eq!(inits, destroys);
    let runs = log.check();
    assert!(runs.values().all(|r| *r >= 1));
}
