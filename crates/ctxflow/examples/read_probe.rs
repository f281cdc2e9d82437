//! Instruction-count probe (run under callgrind); not part of the docs.
use std::cell::Cell;
use std::hint::black_box;
static V: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("v");
static W: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("w");
thread_local! { static LOCAL: Cell<u64> = const { Cell::new(7) }; }
fn main() {
    let op = std::env::args().nth(1).unwrap_or_default();
    let n: u64 = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(1_000_000);
    let mut acc = 0u64;
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let snap = ctxflow::Snapshot::capture().with((V.value(7), W.value(8)));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut fut = Box::pin(snap.run(std::future::pending::<()>()));
    snap.run_sync(|| {
        for i in 0..n {
            acc = acc.wrapping_add(match op.as_str() {
                "tl" => black_box(&LOCAL).with(Cell::get),
                "get" => black_box(&V).get().unwrap(),
                "with" => black_box(&V).with(|v| *v.unwrap()),
                "poll" => fut.as_mut().poll(&mut cx).is_pending() as u64,
                "scope" => V.sync_scope(i, || 1),
                "run_sync" => snap.run_sync(|| black_box(&V).get().unwrap()),
                "none" => black_box(i),
                "tspawn" => rt.block_on(async { tokio::spawn(async { 1 }).await.unwrap() }),
                "spawn" => rt.block_on(async { ctxflow::spawn(async { 1 }).await.unwrap() }),
                _ => panic!("op"),
            });
        }
    });
    black_box(acc);
}
use std::future::Future;
