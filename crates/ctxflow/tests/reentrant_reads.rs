//! Writes made while a read is in progress on the same thread: a `with` closure that enters
//! scopes and sets variables, and a value whose `Clone` (run by `get`) does the same. Each read
//! sees the innermost write, and each scope's end restores its caller (docs/semantics.md §3).

use ctxflow::{ContextVar, Snapshot};

static OUTER: ContextVar<u64> = ContextVar::new("outer");
static OTHER: ContextVar<u64> = ContextVar::new("other");
static NOISY: ContextVar<CloneEntersScopes> = ContextVar::new("noisy");

/// A value whose `Clone` enters a scope, reads inside it, and sets a variable in it.
struct CloneEntersScopes(u64);

impl Clone for CloneEntersScopes {
    fn clone(&self) -> Self {
        let seen = OTHER.sync_scope(self.0 + 1, || {
            OTHER.set(self.0 + 2).unwrap();
            (OTHER.get(), OUTER.get())
        });
        assert_eq!(seen, (Some(self.0 + 2), Some(self.0)), "reads inside the clone");
        CloneEntersScopes(self.0)
    }
}

fn one_round(n: u64) {
    let before = OUTER.get();
    OUTER.sync_scope(n, || {
        NOISY.sync_scope(CloneEntersScopes(n), || {
            assert_eq!(NOISY.get().map(|v| v.0), Some(n));
            assert_eq!(OTHER.get(), None, "the clone's scope ended with it");
            OUTER.with(|outer| {
                assert_eq!(outer, Some(&n));
                let inner = OUTER.sync_scope(n + 100, || {
                    OUTER.set(n + 200).unwrap();
                    OUTER.with(|v| v.copied())
                });
                assert_eq!(inner, Some(n + 200));
                assert_eq!(OUTER.get(), Some(n), "the scope inside the read ended");
                OUTER.set(n + 300).unwrap();
                assert_eq!(OUTER.get(), Some(n + 300), "a set inside the read shows inside it");
                assert_eq!(outer, Some(&n), "and the borrowed value is intact");
                let snapshot = Snapshot::capture();
                assert_eq!(snapshot.get(&OUTER), Some(n + 300));
            });
            assert_eq!(OUTER.get(), Some(n + 300), "and after it, up to the scope's end");
        });
        assert_eq!(OUTER.get(), Some(n));
    });
    assert_eq!(OUTER.get(), before);
}

#[test]
fn writes_inside_reads_on_many_threads_at_once() {
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..if cfg!(miri) { 5 } else { 500 } {
                    one_round(t * 10_000 + i * 1000);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(miri, ignore = "a tokio runtime under miri is too slow")]
async fn writes_inside_reads_in_many_tasks() {
    let tasks: Vec<_> = (0..200u64)
        .map(|i| {
            ctxflow::spawn(OUTER.scope(i, async move {
                for _ in 0..5 {
                    tokio::task::yield_now().await;
                    OUTER.with(|v| assert_eq!(OTHER.sync_scope(i, || (v.copied(), OTHER.get())), (Some(i), Some(i))));
                    assert_eq!(OUTER.get(), Some(i));
                }
                one_round(i * 1000);
                OUTER.get()
            }))
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), Some(i as u64));
    }
}
