//! The live resource registry, the tree dump, the leak report and `stats()`.
//!
//! The registry and the counters are process-wide, so the tests of this binary take turns
//! (`SERIAL`) and can assert exact figures.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ctxflow::{AsyncId, AsyncResource, ContextVar};
use ctxflow_diagnostics::{self as diagnostics, registry};

static SERIAL: Mutex<()> = Mutex::new(());
static REQUEST: ContextVar<u32> = ContextVar::new("request_id");
static TX: ContextVar<u32> = ContextVar::new("transaction").not_inherited();

fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    registry::enable();
    guard
}

fn info(id: AsyncId) -> Option<diagnostics::ResourceInfo> {
    registry::live().into_iter().find(|r| r.id == id)
}

#[test]
fn live_resources_carry_kind_trigger_location_and_variable_names() {
    let _s = serial();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(ctxflow::scope((REQUEST.value(7), TX.value(1)), async {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let line = line!() + 1;
        let task = ctxflow::spawn(async move { rx.await.ok() });
        let here: Vec<_> = registry::live()
            .into_iter()
            .filter(|r| r.location.file() == file!() && r.location.line() == line)
            .collect();
        assert_eq!(here.len(), 1, "{here:?}");
        let i = &here[0];
        assert_eq!((i.kind.as_str(), i.trigger), ("task", AsyncId::ROOT));
        assert_eq!(i.variables, ["request_id"], "not-inherited variables are not carried");
        assert!(i.age() < Duration::from_secs(3600));
        tx.send(()).unwrap();
        task.await.unwrap();
        assert!(info(i.id).is_none(), "a finished task leaves the registry");
    }));
}

#[test]
fn an_async_resource_carries_every_variable_and_its_creation_line() {
    let _s = serial();
    static UNNAMED: ContextVar<u8> = ContextVar::new("");
    let dynamic: ContextVar<u8> = ContextVar::named(format!("shard-{}", 3));
    let (res, line) = ctxflow::sync_scope((REQUEST.value(1), TX.value(2), UNNAMED.value(3), dynamic.value(4)), || {
        (AsyncResource::new("db-callback"), line!())
    });
    let i = info(res.id()).unwrap();
    assert_eq!(
        (i.kind.as_str(), i.trigger, i.location.file(), i.location.line()),
        ("db-callback", AsyncId::ROOT, file!(), line)
    );
    let mut vars = i.variables.clone();
    vars.sort();
    assert_eq!(vars.len(), 4);
    assert!(vars.contains(&"request_id".to_owned()) && vars.contains(&"transaction".to_owned()));
    assert!(vars.contains(&"shard-3".to_owned()));
    assert!(vars.iter().any(|v| v.starts_with('#')), "an unnamed variable shows by key: {vars:?}");
    drop(res);
}

#[test]
fn dump_prints_the_tree_by_trigger() {
    let _s = serial();
    let conn = AsyncResource::new("connection");
    let (q1, q2) = conn.sync_run(|| (AsyncResource::new("query"), AsyncResource::new("query")));
    let row = q1.sync_run(|| AsyncResource::new("row"));
    let orphan = AsyncResource::with_trigger("orphan", AsyncId::NONE);
    let dump = diagnostics::dump();
    assert!(dump.resources().iter().any(|r| r.id == row.id()));
    let text = dump.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: String| {
        lines.iter().position(|l| l.contains(&needle)).unwrap_or_else(|| panic!("{needle} in\n{text}"))
    };
    let (c, a, b, r) = (
        at(format!("connection #{} ", conn.id())),
        at(format!("query #{} ", q1.id())),
        at(format!("query #{} ", q2.id())),
        at(format!("row #{} ", row.id())),
    );
    assert!(c < a && a < r && r < b, "depth first, oldest first:\n{text}");
    // Whatever else is alive, the connection's subtree is drawn exactly like this:
    //   ├── connection #..        (or └── if it is the last top-level resource)
    //   │   ├── query #q1
    //   │   │   └── row #..
    //   │   └── query #q2
    let column = |line: &str, branch: &str| {
        let at = line.find(branch).unwrap_or_else(|| panic!("{branch} in {line}"));
        line[..at].chars().count()
    };
    let base = column(lines[c], "── connection") - 1;
    assert_eq!(column(lines[a], "├── query"), base + 4, "{text}");
    assert_eq!(column(lines[r], "└── row"), base + 8, "{text}");
    assert_eq!(column(lines[b], "└── query"), base + 4, "{text}");
    assert!(text.contains("created at the top level (#1):"));
    assert!(text.contains("created with no trigger (#0):"));
    assert!(lines[at(format!("orphan #{}", orphan.id()))].contains("└── orphan"));
    drop((conn, q1, q2, row, orphan));
}

#[test]
fn the_leak_report_lists_what_was_never_released() {
    let _s = serial();
    let forgotten = REQUEST.sync_scope(9, || AsyncResource::new("forgotten"));
    let id = forgotten.id();
    std::mem::forget(forgotten);
    let released = AsyncResource::new("released");
    let released_id = released.id();
    drop(released);

    let report = diagnostics::leaks(Duration::ZERO);
    assert!(report.resources().iter().any(|r| r.id == id));
    assert!(report.resources().iter().all(|r| r.id != released_id));
    let text = report.to_string();
    assert!(text.contains("× forgotten at ") && text.contains("vars [request_id]"), "{text}");
    assert!(report.resources().iter().all(|r| r.age() > Duration::ZERO));

    let recent = diagnostics::leaks(Duration::from_secs(3600));
    assert!(recent.is_empty());
    assert!(recent.to_string().starts_with("no resource alive for more than"));
}

#[test]
fn disabling_forgets_and_stops_recording() {
    let _s = serial();
    let before = AsyncResource::new("before-disable");
    registry::disable();
    assert!(!registry::is_enabled());
    assert!(registry::live().is_empty());
    let during = AsyncResource::new("while-disabled");
    registry::enable();
    assert!(info(during.id()).is_none() && info(before.id()).is_none());
    drop((before, during));
}

#[test]
fn many_threads_leave_nothing_behind() {
    let _s = serial();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let ids = rt.block_on(async {
        let handles: Vec<_> = (0..2000)
            .map(|i| {
                REQUEST.sync_scope(i, || {
                    ctxflow::spawn(async {
                        let b = ctxflow::spawn_blocking(ctxflow::execution_id);
                        (ctxflow::execution_id(), b.await.unwrap())
                    })
                })
            })
            .collect();
        let mut ids = Vec::new();
        for h in handles {
            let (a, b) = h.await.unwrap();
            ids.extend([a, b]);
        }
        ids
    });
    drop(rt);
    let live: std::collections::HashSet<AsyncId> = registry::live().into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 4000);
    assert!(ids.iter().all(|id| !live.contains(id)));
}

#[test]
fn stats_count_live_resources_and_events() {
    let _s = serial();
    let start = diagnostics::stats();
    let inside = REQUEST.sync_scope(1, || {
        let resources: Vec<_> = (0..10).map(|_| AsyncResource::new("counted")).collect();
        let s = diagnostics::stats();
        drop(resources);
        s
    });
    assert_eq!(inside.live_resources - start.live_resources, 10);
    let end = diagnostics::stats();
    assert_eq!(end.live_resources, start.live_resources);

    let res = AsyncResource::new("timed");
    for _ in 0..200 {
        res.sync_run(|| ());
    }
    drop(res);
    let after = diagnostics::stats();
    assert_eq!(after.events - end.events, 1 + 2 * 200 + 1, "init, 200 runs, destroy");
    assert!(after.to_string().contains("events"));
    registry::disable();
    assert_eq!(diagnostics::stats().live_resources, 0, "disabled: nothing recorded");
}
