//! Streams bound to the context they were made in (`StreamContextExt`): every poll runs inside
//! it, wherever and by whomever the stream is polled.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ctxflow::{ContextVar, StreamContextExt};
use futures_core::{FusedStream, Stream};

static REQUEST: ContextVar<u32> = ContextVar::new("request");
static STEP: ContextVar<u32> = ContextVar::new("step");

/// Yields what it reads of `REQUEST` and `STEP`, `items` times, going back to the scheduler
/// before each item, so that streams polled side by side interleave; writes `STEP` at each
/// item, and records what its `Drop` reads.
struct Reads {
    items: u32,
    yielded: bool,
    dropped: Arc<Mutex<Option<Option<u32>>>>,
}

impl Reads {
    fn new(items: u32) -> (Reads, Arc<Mutex<Option<Option<u32>>>>) {
        let dropped = Arc::new(Mutex::new(None));
        (Reads { items, yielded: false, dropped: dropped.clone() }, dropped)
    }
}

impl Stream for Reads {
    type Item = (Option<u32>, Option<u32>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.items == 0 {
            return Poll::Ready(None);
        }
        if !std::mem::replace(&mut self.yielded, true) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        self.items -= 1;
        let seen = (REQUEST.get(), STEP.get());
        STEP.set(seen.1.unwrap_or(0) + 1).expect("the stream's context takes writes");
        Poll::Ready(Some(seen))
    }
}

impl Drop for Reads {
    fn drop(&mut self) {
        *self.dropped.lock().unwrap() = Some(REQUEST.get());
    }
}

/// The next item of `stream`.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_of_many_requests_polled_by_one_plain_task_each_see_their_own_context() {
    poll_many_streams_from_one_task(None).await;
}

/// The same from a plain task of a runtime that propagates context, which has a context of its
/// own (held in the runtime's side table, not entered on the thread): each poll of a stream
/// runs in the stream's, and the task's own is back after it.
#[cfg(all(feature = "runtime", tokio_unstable))]
#[test]
fn streams_polled_by_a_plain_task_of_a_propagating_runtime_keep_their_context_and_the_tasks() {
    use ctxflow::runtime::BuilderExt;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).propagate_context().build().unwrap();
    rt.block_on(REQUEST.scope(999, poll_many_streams_from_one_task(Some(999))));
}

/// Makes streams in many request scopes, and polls them all in turn from one plain task, which
/// inherits `REQUEST = task_has` (on a runtime that propagates it).
async fn poll_many_streams_from_one_task(task_has: Option<u32>) {
    const REQUESTS: u32 = 200;
    const ITEMS: u32 = 20;
    let made: Vec<_> = (0..REQUESTS)
        .map(|r| {
            let (reads, dropped) = Reads::new(ITEMS);
            (REQUEST.sync_scope(r, || Box::pin(reads.in_current_context())), dropped)
        })
        .collect();
    // One plain task, with no context of its own, polls every stream in turn, as a
    // connection task or a multiplexer would.
    let polled = tokio::spawn(async move {
        let (mut streams, drops): (Vec<_>, Vec<_>) = made.into_iter().unzip();
        let mut seen = vec![Vec::new(); streams.len()];
        for _ in 0..=ITEMS {
            for (r, stream) in streams.iter_mut().enumerate() {
                if let Some(item) = next(stream).await {
                    seen[r].push(item);
                }
                assert_eq!((REQUEST.get(), STEP.get()), (task_has, None), "the polling task's own context");
            }
        }
        // Ended streams say so, and answer `None` again.
        for stream in &mut streams {
            assert!(stream.is_terminated());
            assert_eq!(next(stream).await, None);
        }
        (seen, drops)
    });
    let (seen, drops) = polled.await.unwrap();
    for (r, items) in seen.iter().enumerate() {
        let expected: Vec<_> = (0..ITEMS).map(|i| (Some(r as u32), (i > 0).then_some(i))).collect();
        assert_eq!(*items, expected, "request {r}: its own value, and its own writes from poll to poll");
    }
    for (r, dropped) in drops.iter().enumerate() {
        assert_eq!(*dropped.lock().unwrap(), Some(Some(r as u32)), "request {r}'s stream dropped in its context");
    }
}

#[test]
fn a_stream_dropped_before_its_end_is_dropped_inside_its_context() {
    let (reads, dropped) = Reads::new(5);
    let stream = REQUEST.sync_scope(7, || reads.in_current_context());
    assert_eq!(stream.size_hint(), (0, None));
    assert!(!stream.is_terminated());
    drop(stream);
    assert_eq!(*dropped.lock().unwrap(), Some(Some(7)));
    assert_eq!(REQUEST.get(), None);
}
