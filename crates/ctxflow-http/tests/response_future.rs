//! What the server layer's response future guarantees the handler's future: every poll, its
//! drop (also when the response future is dropped before it completes) and the writes it makes
//! all happen inside the request's context, and none of it reaches the caller's.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ctxflow::ContextVar;
use ctxflow_http::{REQUEST_ID, RequestId, ServerLayer};
use http::{Request, Response};
use tower::{Layer, Service, ServiceExt, service_fn};

static SCRATCH: ContextVar<String> = ContextVar::new("scratch");

/// Records the request id that its `Drop` sees.
struct ReportsOnDrop(Arc<Mutex<Option<String>>>);

impl Drop for ReportsOnDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(REQUEST_ID.get().map_or("none".into(), |r| r.to_string()));
    }
}

/// A handler's future: pending forever, or ready at once; either way its `Drop` reports.
struct Handler {
    ready: bool,
    _report: ReportsOnDrop,
}

impl Future for Handler {
    type Output = Result<Response<()>, Infallible>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        if self.ready { Poll::Ready(Ok(Response::new(()))) } else { Poll::Pending }
    }
}

fn request(id: &str) -> Request<()> {
    Request::builder().header("x-request-id", id).body(()).unwrap()
}

/// Polls `fut` once; true when it completed.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> bool {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx).is_ready())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handlers_future_is_dropped_inside_the_request_context_also_mid_flight() {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        tasks.spawn(async move {
            let seen = Arc::new(Mutex::new(None));
            let report = seen.clone();
            let ready = i % 2 == 0;
            let mut svc = ServerLayer::new()
                .layer(service_fn(move |_: Request<()>| Handler { ready, _report: ReportsOnDrop(report.clone()) }));
            let mut fut = Box::pin(svc.call(request(&format!("drop-{i}"))));
            assert_eq!(poll_once(&mut fut).await, ready);
            tokio::task::yield_now().await; // possibly another worker from here on
            // Dropped inside some other request's context: the handler's `Drop` must still see
            // its own, and the caller's context must be back afterwards.
            let outer = "outer".parse::<RequestId>().unwrap();
            let after = REQUEST_ID.sync_scope(outer, || {
                drop(fut);
                REQUEST_ID.get().map(|r| r.to_string())
            });
            (i, seen.lock().unwrap().take(), after)
        });
    }
    let mut checked = 0;
    while let Some(result) = tasks.join_next().await {
        let (i, seen, after) = result.unwrap();
        assert_eq!(seen, Some(format!("drop-{i}")), "request {i}");
        assert_eq!(after.as_deref(), Some("outer"), "request {i}");
        checked += 1;
    }
    assert_eq!(checked, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_the_handler_lasts_across_its_awaits_and_stays_in_the_request() {
    let svc = ServerLayer::new().layer(service_fn(|_: Request<()>| async {
        let mine = REQUEST_ID.get().unwrap().to_string();
        SCRATCH.set(mine.clone()).unwrap();
        for _ in 0..3 {
            tokio::task::yield_now().await;
            if SCRATCH.get().as_ref() != Some(&mine) {
                return Ok::<_, Infallible>(Response::new(format!("{mine}: lost its write: {:?}", SCRATCH.get())));
            }
        }
        Ok(Response::new(mine))
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let svc = svc.clone();
        tasks.spawn(ctxflow::scope(SCRATCH.value("caller".into()), async move {
            let answer = svc.oneshot(request(&format!("write-{i}"))).await.unwrap().into_body().into_inner();
            (i, answer, SCRATCH.get())
        }));
    }
    let mut checked = 0;
    while let Some(result) = tasks.join_next().await {
        let (i, answer, caller) = result.unwrap();
        assert_eq!(answer, format!("write-{i}"));
        assert_eq!(caller.as_deref(), Some("caller"), "the handler's write reached its caller");
        checked += 1;
    }
    assert_eq!(checked, 200);
}
