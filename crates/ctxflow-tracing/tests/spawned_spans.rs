//! `SpansFollowSpawns`: spans opened in work spawned through ctxflow are children of the span
//! current at the spawn: tasks on a multi-thread runtime, blocking jobs, threads. In a binary of
//! its own, since the hook is process-wide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ctxflow_tracing::SpansFollowSpawns;
use tracing::Subscriber;
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// Records, for every span opened, its name (with the request number) and its parent's.
#[derive(Clone, Default)]
struct Parents(Arc<Mutex<HashMap<String, Option<String>>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Parents {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let name = |id: &Id| {
            let span = ctx.span(id)?;
            let n = span.extensions().get::<String>().cloned()?;
            Some(n)
        };
        let mut label = String::new();
        attrs.record(&mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            if field.name() == "n" {
                label = format!("{}#{value:?}", attrs.metadata().name());
            }
        });
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(label.clone());
        }
        let parent =
            if attrs.is_contextual() { ctx.current_span().id().and_then(name) } else { attrs.parent().and_then(name) };
        self.0.lock().unwrap().insert(label, parent);
    }
}

fn spawn_all(n: u32) -> Vec<tokio::task::JoinHandle<()>> {
    let request = tracing::info_span!("request", n);
    let _in_request = request.enter();
    vec![
        ctxflow::spawn(async move {
            tokio::task::yield_now().await;
            tracing::info_span!("task", n).in_scope(|| ());
            let grandchild = ctxflow::spawn(async move { tracing::info_span!("grandchild", n).in_scope(|| ()) });
            grandchild.await.unwrap();
        }),
        ctxflow::spawn_blocking(move || tracing::info_span!("blocking", n).in_scope(|| ())),
        ctxflow::spawn_blocking(move || {
            ctxflow::thread::spawn(move || tracing::info_span!("thread", n).in_scope(|| ())).join().unwrap()
        }),
    ]
}

/// The process's subscriber (global, so that every thread, plain ones included, reports to
/// it), and what it recorded.
fn parents() -> &'static Parents {
    static PARENTS: std::sync::OnceLock<Parents> = std::sync::OnceLock::new();
    PARENTS.get_or_init(|| {
        let parents = Parents::default();
        tracing::subscriber::set_global_default(Registry::default().with(parents.clone())).unwrap();
        parents
    })
}

fn run(requests: u32) -> HashMap<String, Option<String>> {
    let parents = parents();
    parents.0.lock().unwrap().clear();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let mut all = Vec::new();
        for n in 0..requests {
            all.extend(spawn_all(n));
        }
        for handle in all {
            handle.await.unwrap();
        }
    });
    drop(rt);
    parents.0.lock().unwrap().clone()
}

/// The hooks are process-wide: the tests of this file take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn spans_opened_in_spawned_work_are_children_of_the_spawners_span() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // Control: without the hook, no span opened in spawned work has a parent.
    let without = run(20);
    assert_eq!(without.len(), 20 * 5);
    assert!(without.iter().filter(|(name, _)| !name.starts_with("request")).all(|(_, p)| p.is_none()), "{without:?}");

    let handle = ctxflow::hooks::register(Arc::new(SpansFollowSpawns::default()));
    let with = run(100);
    handle.unregister();
    assert_eq!(with.len(), 100 * 5);
    for n in 0..100 {
        let request = Some(format!("request#{n}"));
        for kind in ["task", "blocking", "thread"] {
            assert_eq!(with[&format!("{kind}#{n}")], request, "{kind} of request {n}");
        }
        // Spawned inside `task` (not inside its inner span): the task's span is `request`.
        assert_eq!(with[&format!("grandchild#{n}")], request, "grandchild of request {n}");
        assert_eq!(with[&format!("request#{n}")], None);
    }
}

/// The same through `SpanContexts`, which registers the hook itself while it is part of a
/// subscriber (here a thread's default, on a current-thread runtime), unless told not to.
fn through_the_layer(follow_spawns: bool) -> HashMap<String, Option<String>> {
    let parents = Parents::default();
    let layer = ctxflow_tracing::SpanContexts::default().follow_spawns(follow_spawns);
    let subscriber = Registry::default().with(layer).with(parents.clone());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let request = tracing::info_span!("request", n = 0);
            let child = {
                let _in_request = request.enter();
                ctxflow::spawn(async { tracing::info_span!("task", n = 0).in_scope(|| ()) })
            };
            child.await.unwrap();
        })
    });
    parents.0.lock().unwrap().clone()
}

#[test]
fn span_contexts_makes_spawned_work_follow_the_span_unless_switched_off() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(through_the_layer(true)["task#0"].as_deref(), Some("request#0"));
    assert_eq!(through_the_layer(false)["task#0"], None);
}

/// A span guard held across an `.await` (which tracing warns against, and which only a
/// single-threaded executor allows, the guard not being `Send`): the entry it made stays on the
/// thread while the task waits, and the other tasks polled there meanwhile must see none of it.
#[test]
fn a_span_guard_held_across_an_await_lends_its_context_to_no_other_task() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    static TENANT: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("tenant");
    let subscriber = Registry::default().with(ctxflow_tracing::SpanContexts::default().follow_spawns(false));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let local = tokio::task::LocalSet::new();
    tracing::subscriber::with_default(subscriber, || {
        local.block_on(&rt, async {
            let span = TENANT.sync_scope("acme", || tracing::info_span!("request"));
            let holder = tokio::task::spawn_local(async move {
                let _guard = span.enter(); // enters "acme": this task has no context of its own
                let inside = TENANT.get();
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
                (inside, TENANT.get())
            });
            let mut others = Vec::new();
            for _ in 0..20 {
                others.push(tokio::task::spawn_local(async {
                    let first = (TENANT.get(), TENANT.set("other"));
                    tokio::task::yield_now().await;
                    (first, TENANT.get())
                }));
            }
            assert_eq!(holder.await.unwrap(), (Some("acme"), Some("acme")));
            for other in others {
                let ((read, set), after) = other.await.unwrap();
                assert_eq!((read, after), (None, None), "another task saw the held entry");
                assert!(set.is_err(), "and could not write into it");
            }
        });
    });
    assert_eq!(TENANT.get(), None);
}
