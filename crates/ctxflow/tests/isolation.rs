//! Isolation under load: concurrent requests on a multi-thread runtime never see each
//! other's values, however often their tasks migrate between workers.

use rand::Rng;

use ctxflow::{ContextVar, Snapshot};

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static TENANT: ContextVar<String> = ContextVar::new("tenant");

const REQUESTS: u64 = 10_000;

async fn random_yields() {
    let n = rand::rng().random_range(0..4);
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

/// Checks one read; returns 1 so callers can count reads.
fn check(id: u64) -> u64 {
    assert_eq!(REQUEST.get(), Some(id), "request {id} saw another request's id");
    assert_eq!(TENANT.with(|t| t.map(|t| t == &format!("t{}", id % 7))), Some(true));
    1
}

async fn request(id: u64) -> u64 {
    let mut reads = check(id);
    random_yields().await;
    reads += check(id);
    // A child task, a blocking job and a write that must stay inside the child.
    let child = ctxflow::spawn(async move {
        random_yields().await;
        let r = check(id);
        TENANT.set("child-only".into()).unwrap();
        random_yields().await;
        assert_eq!(TENANT.get().as_deref(), Some("child-only"));
        r + check_request_only(id)
    });
    let blocking = ctxflow::spawn_blocking(move || check(id));
    random_yields().await;
    reads += check(id);
    reads += child.await.unwrap() + blocking.await.unwrap();
    reads += check(id);
    reads
}

fn check_request_only(id: u64) -> u64 {
    assert_eq!(REQUEST.get(), Some(id));
    1
}

#[test]
fn ten_thousand_concurrent_requests_never_see_each_other() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let reads = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for id in 0..REQUESTS {
            let fut = ctxflow::scope((REQUEST.value(id), TENANT.value(format!("t{}", id % 7))), request(id));
            set.spawn(fut);
        }
        let mut reads = 0;
        while let Some(r) = set.join_next().await {
            reads += r.expect("a request failed a check");
        }
        reads
    });
    assert_eq!(reads, REQUESTS * 7, "every read was made and checked");
    assert_eq!(REQUEST.get(), None);
}

#[test]
fn threads_reading_and_writing_their_own_contexts_stay_isolated() {
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..2_000u64 {
                    let id = t * 1_000_000 + i;
                    let snap = Snapshot::empty().with_bindings(REQUEST.value(id));
                    snap.sync_run(|| {
                        assert_eq!(REQUEST.get(), Some(id));
                        REQUEST.set(id + 1).unwrap();
                        assert_eq!(REQUEST.get(), Some(id + 1));
                    });
                    assert_eq!(snap.get(&REQUEST), Some(id));
                    assert_eq!(REQUEST.get(), None);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
