//! The `log` bridge: records logged through the `log` crate carry the request's fields, as
//! key-values or as a message prefix, from the request's tasks and threads alike.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ctxflow::ContextVar;
use ctxflow_tracing::{Carry, ContextFields, ContextLog};
use log::kv::{Key, Value, VisitSource};
use log::{Level, Log, Record};

static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
static TENANT: ContextVar<&str> = ContextVar::new("tenant");

/// What the inner logger saw of one record: the message and the key-values, as text.
#[derive(Debug, PartialEq)]
struct Seen {
    message: String,
    kvs: BTreeMap<String, String>,
}

/// An inner logger that records what it sees; drops records below `Info`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Log for Recorder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= Level::Info
    }

    fn log(&self, record: &Record<'_>) {
        struct Collect(BTreeMap<String, String>);
        impl<'kvs> VisitSource<'kvs> for Collect {
            fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
                self.0.insert(key.to_string(), value.to_string());
                Ok(())
            }
        }
        let mut kvs = Collect(BTreeMap::new());
        record.key_values().visit(&mut kvs).unwrap();
        self.0.lock().unwrap().push(Seen { message: record.args().to_string(), kvs: kvs.0 });
    }

    fn flush(&self) {}
}

fn logger(carry: Carry) -> (ContextLog<Recorder>, Recorder) {
    let recorder = Recorder::default();
    let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
    (ContextLog::new(recorder.clone(), fields).carry(carry), recorder)
}

fn emit(logger: &dyn Log, message: &str) {
    let kv: &[(&str, i32)] = &[("n", 1)];
    logger.log(&Record::builder().level(Level::Info).args(format_args!("{message}")).key_values(&kv).build());
}

fn seen(recorder: &Recorder) -> Vec<Seen> {
    std::mem::take(&mut *recorder.0.lock().unwrap())
}

fn kvs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn key_values_follow_the_records_own() {
    let (logger, recorder) = logger(Carry::KeyValues);
    ctxflow::sync_scope((REQUEST_ID.value(7), TENANT.value("acme")), || emit(&logger, "handled"));
    assert_eq!(
        seen(&recorder),
        [Seen { message: "handled".into(), kvs: kvs(&[("n", "1"), ("request_id", "7"), ("tenant", "acme")]) }]
    );
}

#[test]
fn message_prefix_leaves_key_values_alone() {
    let (logger, recorder) = logger(Carry::MessagePrefix);
    ctxflow::sync_scope((REQUEST_ID.value(7), TENANT.value("a\nb")), || emit(&logger, "handled"));
    emit(&logger, "outside");
    assert_eq!(
        seen(&recorder),
        [
            Seen { message: "[request_id=7 tenant=a\\nb] handled".into(), kvs: kvs(&[("n", "1")]) },
            Seen { message: "outside".into(), kvs: kvs(&[("n", "1")]) },
        ]
    );
}

#[test]
fn both_places_at_once() {
    let (logger, recorder) = logger(Carry::Both);
    REQUEST_ID.sync_scope(9, || emit(&logger, "x"));
    assert_eq!(
        seen(&recorder),
        [Seen { message: "[request_id=9] x".into(), kvs: kvs(&[("n", "1"), ("request_id", "9")]) }]
    );
}

#[test]
fn unset_fields_are_left_out_or_written_as_configured() {
    let (logger, recorder) = logger(Carry::KeyValues);
    TENANT.sync_scope("acme", || emit(&logger, "x"));
    assert_eq!(seen(&recorder)[0].kvs, kvs(&[("n", "1"), ("tenant", "acme")]));

    let fields = ContextFields::new().field("request_id", &REQUEST_ID).unset_as("none");
    let logger = ContextLog::new(recorder.clone(), fields).carry(Carry::Both);
    emit(&logger, "x");
    assert_eq!(
        seen(&recorder),
        [Seen { message: "[request_id=none] x".into(), kvs: kvs(&[("n", "1"), ("request_id", "none")]) }]
    );
}

#[test]
fn records_the_inner_logger_drops_are_not_passed_on() {
    let (logger, recorder) = logger(Carry::Both);
    assert!(!logger.enabled(&log::Metadata::builder().level(Level::Debug).build()));
    REQUEST_ID.sync_scope(1, || logger.log(&Record::builder().level(Level::Debug).args(format_args!("x")).build()));
    assert_eq!(seen(&recorder), []);
}

#[test]
fn records_from_the_requests_tasks_and_threads_carry_its_id() {
    let (logger, recorder) = logger(Carry::KeyValues);
    let logger: &'static ContextLog<Recorder> = Box::leak(Box::new(logger));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let n = 200u64;
    runtime.block_on(async {
        let handles: Vec<_> = (0..n)
            .map(|id| {
                tokio::spawn(REQUEST_ID.scope(id, async move {
                    let task = ctxflow::spawn(async move { emit(logger, &format!("task {id}")) });
                    let job = ctxflow::spawn_blocking(move || emit(logger, &format!("blocking {id}")));
                    let thread = ctxflow::thread::spawn(move || emit(logger, &format!("thread {id}")));
                    task.await.unwrap();
                    job.await.unwrap();
                    tokio::task::spawn_blocking(move || thread.join().unwrap()).await.unwrap();
                }))
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    let seen = seen(&recorder);
    assert_eq!(seen.len() as u64, 3 * n);
    for record in seen {
        let id = record.message.rsplit(' ').next().unwrap();
        assert_eq!(record.kvs.get("request_id").map(String::as_str), Some(id), "{record:?}");
    }
}

#[test]
fn a_records_own_key_wins_and_no_key_repeats() {
    /// Every pair a backend is handed, in order, repeats included.
    #[derive(Clone, Default)]
    struct Pairs(Arc<Mutex<Vec<(String, String)>>>);
    impl Log for Pairs {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &Record<'_>) {
            struct Collect<'a>(&'a mut Vec<(String, String)>);
            impl<'kvs> VisitSource<'kvs> for Collect<'_> {
                fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
                    self.0.push((key.to_string(), value.to_string()));
                    Ok(())
                }
            }
            record.key_values().visit(&mut Collect(&mut self.0.lock().unwrap())).unwrap();
        }
        fn flush(&self) {}
    }
    let pairs = Pairs::default();
    let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
    let logger = ContextLog::new(pairs.clone(), fields);
    let kv: &[(&str, &str)] = &[("tenant", "own")];
    ctxflow::sync_scope((REQUEST_ID.value(9), TENANT.value("acme")), || {
        logger.log(&Record::builder().level(Level::Info).args(format_args!("moved")).key_values(&kv).build());
    });
    let seen = pairs.0.lock().unwrap().clone();
    assert_eq!(seen, [("tenant".to_string(), "own".to_string()), ("request_id".to_string(), "9".to_string())]);
}
