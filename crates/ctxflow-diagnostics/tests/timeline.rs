//! The SVG timeline drawn from a recorded trace: one lane per thread, a bar per run, an arrow
//! per creator -> created link.
#![cfg(feature = "timeline")]

use std::sync::Arc;

use ctxflow_diagnostics::{TraceRecorder, timeline};
use serde_json::Value;

#[test]
fn the_svg_has_a_bar_per_run_and_an_arrow_per_link() {
    let recorder = Arc::new(TraceRecorder::new());
    let hook = ctxflow::hooks::register(recorder.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("lane-worker").build().unwrap();
    rt.block_on(async {
        ctxflow::spawn(async {
            let kids: Vec<_> = (0..4).map(|_| ctxflow::spawn(tokio::task::yield_now())).collect();
            ctxflow::thread::Builder::new().name("lane-thread".into()).spawn(|| ()).unwrap().join().unwrap();
            for k in kids {
                k.await.unwrap();
            }
        })
        .await
        .unwrap()
    });
    drop(rt);
    drop(hook);
    let json = recorder.to_json();
    let trace: Value = serde_json::from_str(&json).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let count = |ph: &str| events.iter().filter(|e| e["ph"] == ph).count();

    let svg = timeline::svg_from_json(&json).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<rect").count() - svg.matches("<rect x=\"0\"").count() - 1 - legend(&svg), count("B"));
    let linked = events.iter().filter(|e| e["ph"] == "f").count();
    assert_eq!(svg.matches("marker-end=\"url(#arrow)\"").count(), linked);
    assert!(linked >= 5, "four children and a thread");
    assert!(svg.contains("lane-worker") && svg.contains("lane-thread"));
    assert_eq!(svg.matches("<title>").count(), count("B"), "a tooltip per bar");
}

/// Legend swatches (12x12 squares).
fn legend(svg: &str) -> usize {
    svg.matches("width=\"12\" height=\"12\"").count()
}

#[test]
fn names_are_escaped_for_xml() {
    let recorder = Arc::new(TraceRecorder::new());
    let hook = ctxflow::hooks::register(recorder.clone());
    let res = ctxflow::AsyncResource::new("<a & b>");
    res.sync_run(|| ());
    drop((res, hook));
    let svg = timeline::svg_from_json(&recorder.to_json()).unwrap();
    assert!(svg.contains("&lt;a &amp; b&gt;"));
    assert!(!svg.contains("<a & b>"));
}
