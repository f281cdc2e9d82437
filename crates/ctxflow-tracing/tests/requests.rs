//! Every event carries the fields of the request that emitted it, wherever the request's
//! work runs: spawned tasks, blocking closures, threads, rayon jobs; and under 1 000
//! concurrent requests on a multi-thread runtime, no event carries another request's values.
//!
//! The events go to one global subscriber with two fmt layers (JSON and text), each writing
//! to an in-memory buffer. Each test logs `expected` and `expected_tenant` as event fields
//! and checks, on every line of its own, that the context fields agree with them.

mod support;

use std::sync::OnceLock;

use ctxflow::ContextVar;
use ctxflow::rayon::ParallelIteratorExt;
use ctxflow_tracing::ContextFields;
use rayon::prelude::*;
use support::{Capture, str_of, text_field};
use tokio::sync::oneshot;
use tracing::info;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Registry, fmt};

static REQUEST_ID: ContextVar<String> = ContextVar::new("request_id");
static TENANT: ContextVar<String> = ContextVar::new("tenant");

struct Outputs {
    json: Capture,
    text: Capture,
}

fn outputs() -> &'static Outputs {
    static OUTPUTS: OnceLock<Outputs> = OnceLock::new();
    OUTPUTS.get_or_init(|| {
        let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
        let (json, text) = (Capture::default(), Capture::default());
        let subscriber = Registry::default()
            .with(fmt::layer().json().map_event_format(|f| fields.wrap(f)).with_writer(json.clone()))
            .with(fmt::layer().with_ansi(false).map_event_format(|f| fields.wrap(f)).with_writer(text.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("only this file sets the global subscriber");
        Outputs { json, text }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap()
}

/// One request: logs from the handler, a spawned task, a blocking closure, a rayon job (and a
/// parallel iterator inside it) and, when `with_thread`, an OS thread. Returns the number of events it emitted.
async fn request(with_thread: bool) -> usize {
    let id = REQUEST_ID.get().expect("set by the caller");
    let tenant = TENANT.get().expect("set by the caller");
    let fields = move || (id.clone(), tenant.clone());

    log(fields(), "handler");
    tokio::task::yield_now().await;

    let f = fields.clone();
    ctxflow::spawn(async move {
        tokio::task::yield_now().await;
        log(f(), "task");
    })
    .await
    .unwrap();

    let f = fields.clone();
    ctxflow::spawn_blocking(move || log(f(), "blocking")).await.unwrap();

    let (done, rayon_done) = oneshot::channel();
    let f = fields.clone();
    ctxflow::rayon::spawn(move || {
        log(f(), "rayon spawn");
        // A parallel iterator inside the job: each piece runs wherever rayon puts it.
        (0..2).into_par_iter().in_current_context().for_each(|i| log(f(), &format!("rayon iter {i}")));
        let _ = done.send(());
    });
    rayon_done.await.unwrap();

    let mut events = 7;
    if with_thread {
        let (done, thread_done) = oneshot::channel();
        let f = fields.clone();
        ctxflow::thread::spawn(move || {
            log(f(), "thread");
            let _ = done.send(());
        });
        thread_done.await.unwrap();
        events += 1;
    }
    tokio::task::yield_now().await;
    log(fields(), "end");
    events
}

fn log((id, tenant): (String, String), place: &str) {
    info!(expected = %id, expected_tenant = %tenant, "{place}");
}

/// Runs `n` concurrent requests whose ids start with `prefix`; returns the events emitted.
fn run_requests(prefix: &str, n: usize, thread_every: usize) -> usize {
    outputs();
    runtime().block_on(async {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let bindings = (REQUEST_ID.value(format!("{prefix}-{i}")), TENANT.value(format!("tenant-{}", i % 7)));
            handles.push(tokio::spawn(ctxflow::scope(bindings, request(i % thread_every == 0))));
        }
        let mut events = 0;
        for h in handles {
            events += h.await.unwrap();
        }
        events
    })
}

/// Checks every line of both outputs whose `expected` starts with `prefix`; returns how many.
fn check_lines(prefix: &str) -> (usize, usize) {
    let mine = |expected: Option<&str>| expected.is_some_and(|e| e.starts_with(&format!("{prefix}-")));
    let mut json = 0;
    for line in outputs().json.json_lines() {
        let event = line.get("fields").and_then(|f| f.as_object()).expect("event fields");
        if !mine(str_of(event, "expected")) {
            continue;
        }
        json += 1;
        assert_eq!(str_of(&line, "request_id"), str_of(event, "expected"), "{line:?}");
        assert_eq!(str_of(&line, "tenant"), str_of(event, "expected_tenant"), "{line:?}");
    }
    let mut text = 0;
    for line in outputs().text.lines() {
        if !mine(text_field(&line, "expected")) {
            continue;
        }
        text += 1;
        assert_eq!(text_field(&line, "request_id"), text_field(&line, "expected"), "{line}");
        assert_eq!(text_field(&line, "tenant"), text_field(&line, "expected_tenant"), "{line}");
        assert!(line.ends_with(&format!(" tenant={}", text_field(&line, "tenant").unwrap())), "{line}");
    }
    (json, text)
}

#[test]
fn tasks_blocking_closures_threads_and_rayon_jobs_log_their_request() {
    let events = run_requests("places", 20, 1);
    assert_eq!(events, 20 * 8);
    assert_eq!(check_lines("places"), (events, events));
}

#[test]
fn a_thousand_concurrent_requests_never_log_another_requests_id() {
    let events = run_requests("load", 1000, 10);
    assert_eq!(events, 1000 * 7 + 100);
    assert_eq!(check_lines("load"), (events, events));
}

#[test]
fn events_outside_any_request_have_no_request_fields() {
    outputs();
    runtime().block_on(async {
        ctxflow::spawn(async { info!(expected = "outside-0", "no request") }).await.unwrap();
    });
    std::thread::spawn(|| info!(expected = "outside-1", "plain thread")).join().unwrap();
    let outside: Vec<_> = outputs()
        .json
        .json_lines()
        .into_iter()
        .filter(|l| l["fields"].get("expected").and_then(|e| e.as_str()).is_some_and(|e| e.starts_with("outside-")))
        .collect();
    assert_eq!(outside.len(), 2);
    for line in outside {
        assert!(!line.contains_key("request_id") && !line.contains_key("tenant"), "{line:?}");
    }
}
