//! Instruction-count probe: run one operation N times under callgrind and compare two N
//! (`valgrind --tool=callgrind target/release/examples/read_probe get 100000`, then 200000).
//! Every operation is a separate `#[inline(never)]` function, so the counts do not depend on
//! how the loop around it happens to be compiled; `none` is the empty function (the call).
use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll};

static V: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("v");
static W: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("w");
static X: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("x");
thread_local! { static LOCAL: Cell<u64> = const { Cell::new(7) }; }

#[inline(never)]
fn none(i: u64) -> u64 {
    black_box(i)
}
#[inline(never)]
fn tl(_: u64) -> u64 {
    black_box(&LOCAL).with(Cell::get)
}
#[inline(never)]
fn get(_: u64) -> u64 {
    black_box(&V).get().unwrap_or(0)
}
#[inline(never)]
fn with(_: u64) -> u64 {
    black_box(&V).with(|v| v.copied().unwrap_or(0))
}
#[inline(never)]
fn scope(i: u64) -> u64 {
    V.sync_scope(i, || 1)
}
#[inline(never)]
fn scope_async(i: u64, cx: &mut Context<'_>) -> u64 {
    let mut fut = std::pin::pin!(V.scope(i, std::future::ready(1)));
    match fut.as_mut().poll(cx) {
        Poll::Ready(v) => v,
        Poll::Pending => 0,
    }
}
#[inline(never)]
fn sync_run(snap: &ctxflow::Snapshot) -> u64 {
    snap.sync_run(|| get(0))
}
/// A snapshot of two or three variables built from the empty context, then dropped (what an
/// HTTP layer does per request).
#[inline(never)]
fn build(i: u64, three: bool) -> bool {
    let empty = ctxflow::Snapshot::empty();
    let built = if three {
        empty.with_bindings((X.value(i), W.value(i), V.value(i)))
    } else {
        empty.with_bindings((W.value(i), V.value(i)))
    };
    black_box(built).is_empty()
}
#[inline(never)]
fn resource_run(res: &ctxflow::AsyncResource) -> u64 {
    res.sync_run(|| get(0))
}
#[inline(never)]
fn poll(fut: std::pin::Pin<&mut impl Future<Output = ()>>, cx: &mut Context<'_>) -> u64 {
    matches!(fut.poll(cx), Poll::Pending) as u64
}

/// 20 awaits that each suspend, with a read after each (the "20 awaits" cost target's workload).
async fn awaits20() -> u64 {
    let mut acc = 0;
    for _ in 0..20 {
        tokio::task::yield_now().await;
        acc += get(0);
    }
    acc
}

fn main() {
    let op = std::env::args().nth(1).unwrap_or_default();
    let n: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let snap = ctxflow::Snapshot::capture().with_bindings((V.value(7), W.value(8)));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut fut = Box::pin(snap.run(std::future::pending::<()>()));
    let mut acc = 0u64;
    snap.sync_run(|| {
        let res = ctxflow::AsyncResource::new("probe");
        for i in 0..n {
            acc = acc.wrapping_add(match op.as_str() {
                "none" => none(i),
                "tl" => tl(i),
                "get" => get(i),
                "with" => with(i),
                "scope" => scope(i),
                "scope_async" => scope_async(i, &mut cx),
                "sync_run" => sync_run(&snap),
                "resource_run" => resource_run(&res),
                "build2" => build(i, false) as u64,
                "build3" => build(i, true) as u64,
                "poll" => poll(fut.as_mut(), &mut cx),
                "tspawn" => rt.block_on(async { tokio::spawn(async { 1 }).await.unwrap_or(0) }),
                "spawn" => rt.block_on(async { ctxflow::spawn(async { 1 }).await.unwrap_or(0) }),
                "tawaits" => rt.block_on(async { tokio::spawn(awaits20()).await.unwrap_or(0) }),
                "awaits" => rt.block_on(async { ctxflow::spawn(awaits20()).await.unwrap_or(0) }),
                other => panic!("unknown op {other}"),
            });
        }
    });
    black_box(acc);
}
