//! Spawn sites whose tasks start empty (`SpawnSites`): each opted-in runtime judges a spawn by
//! its own list, whatever other runtimes of the process did and whichever sites a thread
//! spawns from in turn.
#![cfg(all(feature = "runtime", tokio_unstable))]

#[path = "spawn_sites_support/library.rs"]
mod library;

use ctxflow::ContextVar;
use ctxflow::runtime::{BuilderExt, SpawnSites};
use tokio::runtime::{Builder, Runtime};

static REQUEST: ContextVar<u64> = ContextVar::new("request");

fn read() -> Option<u64> {
    REQUEST.get()
}

fn runtime(empty_at: SpawnSites) -> Runtime {
    Builder::new_current_thread().propagate_context_except(empty_at).build().unwrap()
}

/// What a task spawned from the library's site sees, spawned inside request `n` on `rt`.
fn seen_from_the_library(rt: &Runtime, n: u64) -> Option<u64> {
    rt.block_on(REQUEST.scope(n, async { library::spawn_reading(read).await.unwrap() }))
}

#[test]
fn each_runtime_judges_a_site_by_its_own_list() {
    // Runtimes built one after the other on one thread, alternately listing the library's site
    // and another crate: what one decided for the site must never answer for the next.
    for n in 0..50 {
        let propagating = runtime(SpawnSites::none().start_empty("another-crate", ""));
        assert_eq!(seen_from_the_library(&propagating, n), Some(n), "round {n}: not listed, inherits");
        drop(propagating);
        let listing = runtime(SpawnSites::none().start_empty(&library::directory(), ""));
        assert_eq!(seen_from_the_library(&listing, n), None, "round {n}: listed, starts empty");
        drop(listing);
    }
}

#[test]
fn a_thread_spawning_from_many_sites_in_turn_judges_each_right() {
    let rt = runtime(SpawnSites::none().start_empty(&library::directory(), ""));
    rt.block_on(async {
        for n in 0..200u64 {
            REQUEST
                .scope(n, async move {
                    // Sites of this file inherit; the library's start empty.
                    let mine = tokio::spawn(async { read() });
                    let theirs = library::spawn_reading(read);
                    let mine_again = tokio::spawn(async { read() });
                    assert_eq!(mine.await.unwrap(), Some(n));
                    assert_eq!(theirs.await.unwrap(), None);
                    assert_eq!(mine_again.await.unwrap(), Some(n));
                })
                .await;
        }
    });
}
