//! Shared by the hook tests: a hook that logs only the resources created by one test.
//!
//! Hooks are process-global and cargo runs the tests of one binary on parallel threads, so
//! every test runs its code inside `TEST.scope(tag, ..)` and its `Log` keeps the resources
//! whose `init` saw that tag in the creator's context, plus the events of those resources.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use ctxflow::hooks::{self, Hook, HookHandle};
use ctxflow::{AsyncId, ContextVar};

pub static TEST: ContextVar<&'static str> = ContextVar::new("hooks-test");

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Init { kind: String, trigger: AsyncId },
    Before,
    After,
    Resolve,
    Destroy,
}

impl Ev {
    /// A short name for comparing sequences in assertions.
    pub fn short(&self) -> &'static str {
        match self {
            Ev::Init { .. } => "init",
            Ev::Before => "before",
            Ev::After => "after",
            Ev::Resolve => "resolve",
            Ev::Destroy => "destroy",
        }
    }
}

pub struct Log {
    tag: &'static str,
    ids: Mutex<HashSet<AsyncId>>,
    events: Mutex<Vec<(AsyncId, Ev, ThreadId, AsyncId)>>,
}

impl Log {
    /// A log for `tag`, registered; events stop when the handle is dropped.
    pub fn register(tag: &'static str) -> (Arc<Log>, HookHandle) {
        let log = Arc::new(Log::new(tag));
        let handle = hooks::register(log.clone());
        (log, handle)
    }

    pub fn new(tag: &'static str) -> Log {
        Log { tag, ids: Mutex::new(HashSet::new()), events: Mutex::new(Vec::new()) }
    }

    fn push(&self, id: AsyncId, ev: Ev) {
        if matches!(ev, Ev::Init { .. }) {
            if TEST.get() != Some(self.tag) {
                return;
            }
            self.ids.lock().unwrap().insert(id);
        } else if !self.ids.lock().unwrap().contains(&id) {
            return;
        }
        // The execution id seen by the callback itself.
        let eid = ctxflow::execution_id();
        self.events.lock().unwrap().push((id, ev, std::thread::current().id(), eid));
    }

    /// Every logged `(id, event, thread, execution id inside the callback)`, in dispatch order.
    pub fn all(&self) -> Vec<(AsyncId, Ev, ThreadId, AsyncId)> {
        self.events.lock().unwrap().clone()
    }

    /// The ids this log tracks, in the order of their `init`.
    pub fn ids(&self) -> Vec<AsyncId> {
        self.all().into_iter().filter(|(_, e, ..)| matches!(e, Ev::Init { .. })).map(|(id, ..)| id).collect()
    }

    /// The events of one resource, as short names.
    pub fn of(&self, id: AsyncId) -> Vec<&'static str> {
        self.all().into_iter().filter(|(i, ..)| *i == id).map(|(_, e, ..)| e.short()).collect()
    }

    /// `(kind, trigger)` from the resource's `init`.
    pub fn init_of(&self, id: AsyncId) -> Option<(String, AsyncId)> {
        self.all().into_iter().find_map(|(i, e, ..)| match e {
            Ev::Init { kind, trigger } if i == id => Some((kind, trigger)),
            _ => None,
        })
    }

    /// The id of the only resource of `kind`.
    pub fn only(&self, kind: &str) -> AsyncId {
        let ids: Vec<AsyncId> =
            self.ids().into_iter().filter(|id| self.init_of(*id).map(|(k, _)| k) == Some(kind.to_owned())).collect();
        assert_eq!(ids.len(), 1, "expected one {kind}, got {ids:?}");
        ids[0]
    }

    /// Checks every tracked resource's sequence and every thread's nesting; returns the
    /// number of runs (before/after pairs) per resource.
    pub fn check(&self) -> HashMap<AsyncId, usize> {
        let all = self.all();
        let mut seqs: HashMap<AsyncId, Vec<&'static str>> = HashMap::new();
        for (id, ev, ..) in &all {
            seqs.entry(*id).or_default().push(ev.short());
        }
        let runs: HashMap<AsyncId, usize> = seqs.iter().map(|(id, seq)| (*id, check_sequence(*id, seq))).collect();
        // Per thread, before/after nest like brackets, and callbacks run in the resource.
        let mut stacks: HashMap<ThreadId, Vec<AsyncId>> = HashMap::new();
        for (id, ev, thread, eid) in &all {
            match ev {
                Ev::Before => {
                    assert_eq!(eid, id, "before runs with the resource's execution id");
                    stacks.entry(*thread).or_default().push(*id);
                }
                Ev::Resolve => assert_eq!(eid, id, "resolve runs with the resource's execution id"),
                Ev::After => {
                    assert_eq!(eid, id, "after runs with the resource's execution id");
                    assert_eq!(
                        stacks.entry(*thread).or_default().pop(),
                        Some(*id),
                        "after closes the innermost before"
                    );
                }
                _ => {}
            }
        }
        assert!(stacks.values().all(Vec::is_empty), "every before has its after");
        runs
    }
}

/// init, then (before [resolve] after)*, resolve only in the last run, destroy last, once.
/// Returns the number of runs.
pub fn check_sequence(id: AsyncId, seq: &[&str]) -> usize {
    assert_eq!(seq.first(), Some(&"init"), "{id}: {seq:?}");
    assert_eq!(seq.last(), Some(&"destroy"), "{id}: {seq:?}");
    assert_eq!(seq.iter().filter(|e| **e == "destroy").count(), 1, "{id}: {seq:?}");
    assert_eq!(seq.iter().filter(|e| **e == "init").count(), 1, "{id}: {seq:?}");
    let body = &seq[1..seq.len() - 1];
    let mut runs = 0;
    let mut i = 0;
    let mut resolved = false;
    while i < body.len() {
        assert!(!resolved, "{id}: a run after resolve: {seq:?}");
        assert_eq!(body[i], "before", "{id}: {seq:?}");
        match body.get(i + 1) {
            Some(&"after") => i += 2,
            Some(&"resolve") => {
                assert_eq!(body.get(i + 2), Some(&"after"), "{id}: {seq:?}");
                resolved = true;
                i += 3;
            }
            other => panic!("{id}: before followed by {other:?}: {seq:?}"),
        }
        runs += 1;
    }
    runs
}

impl Hook for Log {
    fn init(&self, resource: &ctxflow::hooks::Init<'_>) {
        let (id, kind, trigger) = (resource.id(), resource.kind(), resource.trigger());
        self.push(id, Ev::Init { kind: kind.to_owned(), trigger });
    }
    fn before(&self, id: AsyncId) {
        self.push(id, Ev::Before);
    }
    fn after(&self, id: AsyncId) {
        self.push(id, Ev::After);
    }
    fn resolve(&self, id: AsyncId) {
        self.push(id, Ev::Resolve);
    }
    fn destroy(&self, id: AsyncId) {
        self.push(id, Ev::Destroy);
    }
}

/// A multi-thread runtime with two workers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}
