//! The export registry under concurrent declaration, and its limit of 64 declarations. In a
//! process of its own: declarations are process-wide and permanent.

use std::convert::Infallible;

use ctxflow::ContextVar;
use ctxflow_http::{Baggage, ExportError, ServerLayer, limits};
use http::Request;
use tower::{Layer, ServiceExt, service_fn};

fn leaked_var(i: usize) -> &'static ContextVar<u32> {
    Box::leak(Box::new(ContextVar::named(format!("v{i}"))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_declarations_from_many_threads_all_work_and_a_65th_is_refused() {
    let vars: Vec<&'static ContextVar<u32>> = (0..limits::BAGGAGE_MAX_MEMBERS).map(leaked_var).collect();
    // 8 threads declare 8 variables each, at the same time.
    std::thread::scope(|s| {
        for (n, chunk) in vars.chunks(8).enumerate() {
            let base = n * 8;
            s.spawn(move || {
                for (i, var) in chunk.iter().enumerate() {
                    Baggage::export(*var, &format!("k{}", base + i)).unwrap();
                }
            });
        }
    });
    assert_eq!(Baggage::export(leaked_var(64), "k64"), Err(ExportError::TooMany));
    assert_eq!(Baggage::export(leaked_var(65), "k0"), Err(ExportError::KeyTaken), "a taken key is reported first");

    // Every declared key binds its own variable.
    let all = vars.clone();
    let svc = ServerLayer::new().layer(service_fn(move |_: Request<()>| {
        let seen: Vec<Option<u32>> = all.iter().map(|v| v.get()).collect();
        std::future::ready(Ok::<_, Infallible>(http::Response::new(seen)))
    }));
    let baggage: Vec<String> = (0..64).map(|i| format!("k{i}={}", i * 10)).collect();
    let req = Request::builder().header("baggage", baggage.join(",")).body(()).unwrap();
    let seen = svc.oneshot(req).await.unwrap().into_body().into_inner();
    let expected: Vec<Option<u32>> = (0..64).map(|i| Some(i * 10)).collect();
    assert_eq!(seen, expected);
}
