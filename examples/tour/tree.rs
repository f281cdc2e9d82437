//! One request, seen through the lifecycle hooks: its live async resources as a tree (from
//! the diagnostics registry) and its whole run as a Chrome trace (JSON for Perfetto or
//! chrome://tracing, and an SVG drawn by ctxflow itself).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ctxflow_diagnostics::{self as diagnostics, TraceRecorder};

use crate::load::{self, HttpClient};
use crate::service::hold_gate;

pub struct Traced {
    pub tree: String,
    pub json: PathBuf,
    pub svg: PathBuf,
    pub events: usize,
}

/// Sends one request that holds its children until the tree has been taken.
pub async fn one_request(client: &HttpClient, addr: SocketAddr, out_dir: &Path) -> std::io::Result<Traced> {
    diagnostics::registry::enable();
    let recorder = Arc::new(TraceRecorder::new());
    let hook = ctxflow::hooks::register(recorder.clone());

    let request = {
        let client = client.clone();
        tokio::spawn(async move { load::send(&client, addr, 4242, true).await })
    };
    // Wait (bounded) until the request's child task and blocking job are alive and waiting.
    let mut tree = String::new();
    for _ in 0..200 {
        let dump = diagnostics::dump();
        let carrying = dump.resources().iter().filter(|r| r.variables.iter().any(|v| v == "tenant")).count();
        if carrying >= 2 {
            tree = dump.to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hold_gate().0.send_replace(true);
    let _ = request.await;
    hold_gate().0.send_replace(false);
    hook.unregister();
    diagnostics::registry::disable();

    std::fs::create_dir_all(out_dir)?;
    let json = out_dir.join("tour-trace.json");
    let svg = out_dir.join("tour-trace.svg");
    recorder.save(&json)?;
    let drawn = diagnostics::timeline::svg_from_json(&recorder.to_json()).map_err(std::io::Error::other)?;
    std::fs::write(&svg, drawn)?;
    Ok(Traced { tree, json, svg, events: recorder.len() })
}
