//! Lifecycle hooks and the side table of an opted-in runtime: every task gets `init`, ordered
//! `before`/`after` pairs and exactly one `destroy`, and nothing stays tracked once the runtime
//! has shut down. Hooks and `tracked_tasks` are process-wide, so the tests of this binary run
//! one at a time.
#![cfg(all(feature = "runtime", tokio_unstable))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ctxflow::hooks::{self, Hook};
use ctxflow::runtime::{BuilderExt, tracked_tasks};
use ctxflow::{AsyncId, ContextVar};
use tokio::runtime::Handle;

static SERIAL: Mutex<()> = Mutex::new(());
static REQUEST: ContextVar<u64> = ContextVar::new("request");

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Init(String, AsyncId),
    Before,
    After,
    Resolve,
    Destroy,
}

#[derive(Default)]
struct Recorder(Mutex<HashMap<AsyncId, Vec<Event>>>);

impl Recorder {
    fn push(&self, id: AsyncId, e: Event) {
        self.0.lock().unwrap().entry(id).or_default().push(e);
    }
}

impl Hook for Recorder {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (id, kind, trigger) = (resource.id(), resource.kind(), resource.trigger());
        self.push(id, Event::Init(kind.to_string(), trigger));
    }
    fn before(&self, id: AsyncId) {
        self.push(id, Event::Before);
    }
    fn after(&self, id: AsyncId) {
        self.push(id, Event::After);
    }
    fn resolve(&self, id: AsyncId) {
        self.push(id, Event::Resolve);
    }
    fn destroy(&self, id: AsyncId) {
        self.push(id, Event::Destroy);
    }
}

/// Checks one resource's events: init, then before/after pairs (with at most one resolve
/// inside the last pair), then exactly one destroy.
fn check_order(id: AsyncId, events: &[Event]) -> Result<(), String> {
    let err = |what: &str| Err(format!("{id}: {what}: {events:?}"));
    let Some((Event::Init(..), rest)) = events.split_first() else { return err("no init first") };
    let Some((Event::Destroy, middle)) = rest.split_last() else { return err("no destroy last") };
    let mut polling = false;
    for e in middle {
        match (e, polling) {
            (Event::Before, false) => polling = true,
            (Event::After, true) => polling = false,
            (Event::Resolve, true) => {}
            _ => return err("out of order"),
        }
    }
    if polling {
        return err("before without after");
    }
    Ok(())
}

/// Pending until dropped; when dropped (at shutdown) it spawns on the closing runtime, which
/// tokio answers by terminating the new task before its spawn hook runs.
struct SpawnsOnDrop(Handle);

impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        drop(self.0.spawn(async { REQUEST.get() }));
    }
}

#[test]
fn every_task_gets_ordered_events_and_nothing_stays_tracked() {
    let _serial = serial();
    let recorder = Arc::new(Recorder::default());
    let handle = hooks::register(recorder.clone());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().propagate_context().build().unwrap();
    let (parents, children) = rt.block_on(REQUEST.scope(1, async {
        let mut parents = Vec::new();
        let mut children = Vec::new();
        for _ in 0..200 {
            let (p, c) = tokio::spawn(async {
                let me = ctxflow::execution_id();
                let child = tokio::spawn(async {
                    tokio::task::yield_now().await;
                    ctxflow::execution_id()
                });
                (me, child.await.unwrap())
            })
            .await
            .unwrap();
            parents.push(p);
            children.push(c);
        }
        // Aborted while idle, and still pending at shutdown.
        let aborted = tokio::spawn(std::future::pending::<()>());
        aborted.abort();
        let _ = aborted.await;
        for _ in 0..50 {
            let guard = SpawnsOnDrop(Handle::current());
            tokio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            });
        }
        tokio::task::yield_now().await;
        assert!(tracked_tasks() >= 50);
        (parents, children)
    }));
    // A handle keeps the runtime's hooks, and so its table, alive past the shutdown.
    let still_referenced = rt.handle().clone();
    drop(rt);
    assert_eq!(tracked_tasks(), 0, "the side table is empty after shutdown");
    drop(still_referenced);
    handle.unregister();

    let events = recorder.0.lock().unwrap();
    let tasks: Vec<_> = events.iter().filter(|(_, e)| matches!(&e[0], Event::Init(k, _) if k == "task")).collect();
    // 200 parents, 200 children, 1 aborted, 50 pending at shutdown; the 50 spawned during
    // shutdown never ran and are not tracked.
    assert_eq!(tasks.len(), 451);
    for (id, evs) in &tasks {
        check_order(**id, evs).unwrap();
    }
    for (p, c) in parents.iter().zip(&children) {
        assert_eq!(events[c][0], Event::Init("task".into(), *p), "a child's trigger is its parent");
        assert!(events[p].iter().filter(|e| **e == Event::Before).count() >= 1);
    }
}

/// The side table keeps an entry in the slot its task id names, and a task whose slot a live
/// task still holds in an overflow map. Tasks that live long while many short ones come and
/// go fill both: every task must still find its own context and its own writes, and no entry
/// may stay behind.
#[test]
fn long_lived_tasks_and_many_short_ones_each_find_their_own_context() {
    let _serial = serial();
    const LONG: u64 = 300;
    const SHORT: u64 = 40_000;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).propagate_context().build().unwrap();
    rt.block_on(async {
        let (release, released) = tokio::sync::watch::channel(false);
        let long: Vec<_> = (0..LONG)
            .map(|i| {
                let mut released = released.clone();
                REQUEST.sync_scope(i, || {
                    tokio::spawn(async move {
                        released.wait_for(|go| *go).await.unwrap();
                        REQUEST.get()
                    })
                })
            })
            .collect();
        for batch in 0..SHORT / 500 {
            let short: Vec<_> = (0..500)
                .map(|j| {
                    let n = 1_000_000 + batch * 500 + j;
                    REQUEST.sync_scope(n, || {
                        tokio::spawn(async move {
                            tokio::task::yield_now().await;
                            let inherited = REQUEST.get() == Some(n);
                            REQUEST.set(n + 1).unwrap();
                            tokio::task::yield_now().await;
                            inherited && REQUEST.get() == Some(n + 1)
                        })
                    })
                })
                .collect();
            for (j, task) in short.into_iter().enumerate() {
                assert!(task.await.unwrap(), "short task {j} of batch {batch}");
            }
        }
        release.send(true).unwrap();
        for (i, task) in long.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), Some(i as u64), "long-lived task {i}");
        }
    });
    drop(rt);
    assert_eq!(tracked_tasks(), 0, "every entry, in a slot or not, is removed");
}

#[test]
fn ctxflow_spawn_is_not_announced_twice() {
    let _serial = serial();
    let recorder = Arc::new(Recorder::default());
    let handle = hooks::register(recorder.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).propagate_context().build().unwrap();
    let id = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        use ctxflow::JoinSetExt;
        set.spawn_in_context(async { ctxflow::execution_id() });
        let a = set.join_next().await.unwrap().unwrap();
        let b = ctxflow::spawn(async { ctxflow::execution_id() }).await.unwrap();
        [a, b]
    });
    drop(rt);
    handle.unregister();
    let events = recorder.0.lock().unwrap();
    let inits = events.values().filter(|e| matches!(&e[0], Event::Init(k, _) if k == "task")).count();
    assert_eq!(inits, 2, "one resource per ctxflow task, none added by the runtime");
    for i in id {
        check_order(i, &events[&i]).unwrap();
        assert!(events[&i].contains(&Event::Resolve));
    }
    assert_eq!(tracked_tasks(), 0);
}
