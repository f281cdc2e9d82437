//! The Chrome trace recorder: record a real workload, load the JSON back with serde_json and
//! check its structure (metadata, B/E pairing per thread, parent links, flows, lifetimes).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ctxflow::{AsyncId, AsyncResource};
use ctxflow_diagnostics::TraceRecorder;
use serde_json::Value;

/// Ids of the workload's resources: (request, [children], blocking, thread, callback).
struct Ids {
    request: AsyncId,
    children: Vec<AsyncId>,
    blocking: AsyncId,
    thread: AsyncId,
    callback: AsyncId,
}

fn workload() -> Ids {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        ctxflow::spawn(async {
            let request = ctxflow::execution_id();
            let children: Vec<_> = (0..3)
                .map(|_| {
                    ctxflow::spawn(async {
                        tokio::task::yield_now().await;
                        ctxflow::execution_id()
                    })
                })
                .collect();
            let blocking = ctxflow::spawn_blocking(ctxflow::execution_id).await.unwrap();
            let thread = ctxflow::thread::spawn(ctxflow::execution_id).join().unwrap();
            let callback = AsyncResource::new("db \"callback\"\n");
            callback.sync_run(|| ());
            let mut ids = Vec::new();
            for c in children {
                ids.push(c.await.unwrap());
            }
            Ids { request, children: ids, blocking, thread, callback: callback.id() }
        })
        .await
        .unwrap()
    })
}

fn record() -> (Ids, Value, usize) {
    let recorder = Arc::new(TraceRecorder::new());
    let hook = ctxflow::hooks::register(recorder.clone());
    let ids = workload();
    drop(hook);
    let json = recorder.to_json();
    (ids, serde_json::from_str(&json).expect("valid JSON"), recorder.len())
}

fn num(e: &Value, path: &str) -> Option<u64> {
    e.pointer(path).and_then(Value::as_u64)
}

#[test]
fn the_trace_is_well_formed_and_links_parents_to_children() {
    let (ids, trace, recorded) = record();
    assert!(recorded > 0);
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    assert_eq!(trace["otherData"]["dropped_events"], 0);
    let ph = |e: &Value| e["ph"].as_str().unwrap().to_owned();

    // Metadata: the process, and a name for every thread that has events.
    assert!(events.iter().any(|e| ph(e) == "M" && e["name"] == "process_name"));
    let named: HashSet<u64> =
        events.iter().filter(|e| e["name"] == "thread_name").map(|e| num(e, "/tid").unwrap()).collect();
    for e in events.iter().filter(|e| ph(e) != "M") {
        assert!(named.contains(&num(e, "/tid").unwrap()), "unnamed thread in {e}");
        assert_eq!(e["pid"], 1);
        assert!(e["ts"].as_f64().unwrap() >= 0.0);
    }

    // Every B has its E on the same thread, properly nested, and time does not go back.
    let mut stacks: HashMap<u64, Vec<(u64, f64)>> = HashMap::new();
    let mut runs: HashMap<u64, Vec<(u64, bool)>> = HashMap::new(); // id -> (tid, resolved)
    let mut last_ts: HashMap<u64, f64> = HashMap::new();
    let mut b_args: HashMap<u64, (String, u64)> = HashMap::new();
    for e in events.iter().filter(|e| matches!(ph(e).as_str(), "B" | "E")) {
        let (tid, ts) = (num(e, "/tid").unwrap(), e["ts"].as_f64().unwrap());
        assert!(ts >= *last_ts.get(&tid).unwrap_or(&0.0), "time goes forward per thread");
        last_ts.insert(tid, ts);
        if ph(e) == "B" {
            let id = num(e, "/args/id").expect("B has args.id");
            let kind = e["args"]["kind"].as_str().unwrap().to_owned();
            assert_eq!(e["name"].as_str().unwrap(), format!("{kind} #{id}"));
            if let Some(trigger) = num(e, "/args/trigger") {
                b_args.insert(id, (kind, trigger));
            }
            stacks.entry(tid).or_default().push((id, ts));
        } else {
            let (id, start) = stacks.get_mut(&tid).and_then(Vec::pop).expect("E closes an open B");
            assert!(ts >= start);
            runs.entry(id).or_default().push((tid, e["args"]["resolved"] == true));
        }
    }
    assert!(stacks.values().all(Vec::is_empty), "every B has its E");

    // Parent links: kinds and triggers of the workload's resources.
    let expect = |id: AsyncId, kind: &str, parent: AsyncId| {
        assert_eq!(b_args.get(&id.as_u64()), Some(&(kind.to_owned(), parent.as_u64())), "{kind} #{id}");
    };
    expect(ids.request, "task", AsyncId::ROOT);
    for c in &ids.children {
        expect(*c, "task", ids.request);
        let r = &runs[&c.as_u64()];
        assert_eq!(r.len(), 2, "two polls");
        assert_eq!(r.iter().map(|x| x.1).collect::<Vec<_>>(), [false, true], "resolved in the last one");
    }
    expect(ids.blocking, "blocking", ids.request);
    expect(ids.thread, "thread", ids.request);
    expect(ids.callback, "db \"callback\"\n", ids.request);

    // Flows: each created resource has an `s` and, once it ran, an `f` no earlier.
    let flow = |p: &str| -> HashMap<u64, (u64, f64)> {
        events
            .iter()
            .filter(|e| ph(e) == p)
            .map(|e| (num(e, "/id").unwrap(), (num(e, "/tid").unwrap(), e["ts"].as_f64().unwrap())))
            .collect()
    };
    let (starts, ends) = (flow("s"), flow("f"));
    for (id, (_, ts)) in &ends {
        assert!(starts[id].1 <= *ts, "a flow starts before it ends");
    }
    for id in ids.children.iter().chain([&ids.blocking, &ids.thread, &ids.callback]) {
        assert!(starts.contains_key(&id.as_u64()) && ends.contains_key(&id.as_u64()), "flow to #{id}");
    }
    assert!(events.iter().any(|e| ph(e) == "f" && e["bp"] == "e"));
    // The thread's run is on a different thread than the request's polls.
    assert_ne!(runs[&ids.thread.as_u64()][0].0, runs[&ids.request.as_u64()][0].0);

    // Lifetimes: a `b` and an `e` for every resource, in order.
    let life = |p: &str| -> HashMap<u64, f64> {
        events
            .iter()
            .filter(|e| ph(e) == p && e["cat"] == "lifetime")
            .map(|e| (num(e, "/id").unwrap(), e["ts"].as_f64().unwrap()))
            .collect()
    };
    let (born, gone) = (life("b"), life("e"));
    assert_eq!(born.keys().collect::<HashSet<_>>(), gone.keys().collect::<HashSet<_>>());
    for (id, ts) in &born {
        assert!(*ts <= gone[id]);
    }
}

#[test]
fn the_limit_keeps_the_first_events_and_counts_the_rest() {
    let recorder = Arc::new(TraceRecorder::with_limit(3));
    let hook = ctxflow::hooks::register(recorder.clone());
    let res = AsyncResource::new("limited");
    for _ in 0..5 {
        res.sync_run(|| ());
    }
    drop((res, hook));
    assert_eq!(recorder.len(), 3);
    let trace: Value = serde_json::from_str(&recorder.to_json()).unwrap();
    assert!(trace["otherData"]["dropped_events"].as_u64().unwrap() >= 8);
}
