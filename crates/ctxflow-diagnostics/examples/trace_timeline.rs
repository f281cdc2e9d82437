//! Records a small workload as a Chrome trace and draws it as an SVG timeline.
//!
//! ```text
//! cargo run -p ctxflow-diagnostics --example trace_timeline --features timeline
//!     # writes trace-example.json and trace-example.svg in the current directory
//! cargo run -p ctxflow-diagnostics --example trace_timeline --features timeline -- docs/t.json docs/t.svg
//!     # writes them where you say (the repository's pictures: docs/trace-example.*)
//! cargo run -p ctxflow-diagnostics --example trace_timeline --features timeline -- --draw my-trace.json my-trace.svg
//!     # draws a trace you recorded yourself with `TraceRecorder::save`
//! ```
//!
//! The workload is two requests, each spawning three "queries" (tasks that await timers), a
//! blocking job (with an `AsyncResource` callback inside it) and an audit-log thread.

#[cfg(feature = "timeline")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::path::PathBuf;

    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, json, svg] = args.as_slice()
        && flag == "--draw"
    {
        std::fs::write(svg, ctxflow_diagnostics::timeline::svg_from_json(&std::fs::read_to_string(json)?)?)?;
        println!("drew {json} into {svg}");
        return Ok(());
    }
    // Where the user says, else the current directory: never a path inside the package's source.
    let json_path = args.first().map_or_else(|| PathBuf::from("trace-example.json"), PathBuf::from);
    let svg_path = args.get(1).map_or_else(|| PathBuf::from("trace-example.svg"), PathBuf::from);

    let json = workload::record();
    std::fs::write(&json_path, &json)?;
    std::fs::write(&svg_path, ctxflow_diagnostics::timeline::svg_from_json(&json)?)?;
    println!("wrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}

#[cfg(feature = "timeline")]
mod workload {
    use std::sync::Arc;
    use std::time::Duration;

    use ctxflow::{AsyncResource, ContextVar};
    use ctxflow_diagnostics::TraceRecorder;

    static REQUEST: ContextVar<u32> = ContextVar::new("request_id");

    /// Runs the workload under a recorder and returns the trace's JSON.
    pub fn record() -> String {
        let recorder = Arc::new(TraceRecorder::new());
        let hook = ctxflow::hooks::register(recorder.clone());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tokio-worker")
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let requests: Vec<_> = (1..=2).map(|r| REQUEST.sync_scope(r, || ctxflow::spawn(request()))).collect();
            for r in requests {
                r.await.expect("request");
            }
        });
        drop(rt);
        drop(hook);
        recorder.to_json()
    }

    async fn request() {
        let id = REQUEST.get().unwrap_or(0);
        if id > 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        busy(Duration::from_millis(1));
        let queries: Vec<_> = (0..3u64)
            .map(|q| {
                ctxflow::spawn(async move {
                    for _ in 0..2 {
                        busy(Duration::from_micros(500));
                        tokio::time::sleep(Duration::from_millis(2 + q)).await;
                    }
                    busy(Duration::from_micros(500));
                })
            })
            .collect();
        // Blocking I/O: a blocking job and a thread that mostly wait.
        let compress = ctxflow::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(5));
            let done = AsyncResource::new("on-compressed");
            done.sync_run(|| busy(Duration::from_millis(1)));
        });
        let audit = ctxflow::thread::Builder::new()
            .name(format!("audit-{id}"))
            .spawn(|| std::thread::sleep(Duration::from_millis(4)))
            .expect("thread");
        for q in queries {
            q.await.expect("query");
        }
        compress.await.expect("blocking job");
        tokio::task::spawn_blocking(move || audit.join()).await.expect("join").expect("audit thread");
        busy(Duration::from_micros(500));
    }

    /// Work that shows up as a visible bar (a poll that takes this long).
    fn busy(d: Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < d {
            std::hint::spin_loop();
        }
    }
}

#[cfg(not(feature = "timeline"))]
fn main() {
    eprintln!("run with `--features timeline`");
}
