//! docs/benchmarks.svg: every charted workload's ratios to its baseline, one bar per
//! contender, drawn as plain SVG (log scale, whiskers for the range over rounds).

use std::fmt::Write as _;

use super::groups::{Group, HTTP, NODE, TIME};
use super::stats::{Results, Summary};

const WIDTH: f64 = 980.0;
const LABEL_X: f64 = 24.0;
const PLOT_LEFT: f64 = 330.0;
const PLOT_RIGHT: f64 = 900.0;
const ROW: f64 = 22.0;
const TITLE_ROW: f64 = 28.0;
const TOP: f64 = 70.0;

struct Bar {
    name: String,
    ratio: Summary,
}

struct Block {
    title: String,
    bars: Vec<Bar>,
}

fn color(name: &str) -> &'static str {
    match name {
        "ctxflow" | "ctxflow_layer" => "#1f6feb",
        "ctxflow_with" => "#4d8ff0",
        "ctxflow_noop_hook" => "#79a9f5",
        "ctxflow_runtime" => "#0e8a7e",
        "task_local" => "#e36209",
        "tracing" => "#8250df",
        "opentelemetry" => "#6e7781",
        "als" => "#2da44e",
        "hook" => "#cf222e",
        _ => "#999999",
    }
}

/// The name a bar is labelled with.
fn label(name: &str) -> &str {
    match name {
        "als" => "Node: AsyncLocalStorage",
        "hook" => "Node: no-op createHook (no ALS)",
        "ctxflow_noop_hook" => "ctxflow + no-op hook",
        "ctxflow_runtime" => "ctxflow runtime (plain tokio::spawn)",
        "ctxflow_layer" => "ctxflow-http ServerLayer",
        "noop_layer" => "pass-through tower layer",
        "task_local" => "task_local!",
        other => other,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One block per charted workload: the Rust contenders against plain tokio, then Node's on its
/// own twin of that workload against plain Node, so that the peers stand side by side.
fn blocks(r: &Results) -> Vec<Block> {
    let bars = |g: &Group| -> Vec<Bar> {
        r.names(g.id)
            .into_iter()
            .filter(|n| *n != g.base)
            .filter_map(|n| Some(Bar { name: n.to_string(), ratio: r.ratio(g.id, n, g.base)? }))
            .collect()
    };
    TIME.iter()
        .chain(HTTP.iter())
        .filter(|g| g.chart)
        .filter_map(|g: &Group| {
            let mut rust = bars(g);
            let node: Vec<&Group> = NODE.iter().filter(|(_, twin)| *twin == g.id).map(|(n, _)| n).collect();
            let mut title = format!("{} (vs {})", g.short, g.base);
            for n in node {
                let node_bars = bars(n);
                if !node_bars.is_empty() {
                    title = format!("{title}; Node (vs plain Node)");
                }
                rust.extend(node_bars);
            }
            (!rust.is_empty()).then_some(Block { title, bars: rust })
        })
        .collect()
}

/// A log-scale axis over `[lo, hi]`.
struct Axis {
    lo: f64,
    hi: f64,
}

impl Axis {
    fn x(&self, v: f64) -> f64 {
        let t = (v.max(self.lo).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln());
        PLOT_LEFT + t.clamp(0.0, 1.0) * (PLOT_RIGHT - PLOT_LEFT)
    }
}

/// The chart for `r`; `subtitle` says how it was measured.
pub fn render(r: &Results, subtitle: &str) -> String {
    let blocks = blocks(r);
    let max = blocks.iter().flat_map(|b| &b.bars).map(|b| b.ratio.max).fold(2.0, f64::max);
    let min = blocks.iter().flat_map(|b| &b.bars).map(|b| b.ratio.min).fold(0.9, f64::min);
    let axis = Axis { lo: min * 0.95, hi: max * 1.15 };
    let rows: usize = blocks.iter().map(|b| b.bars.len()).sum();
    let plot_bottom = TOP + blocks.len() as f64 * TITLE_ROW + rows as f64 * ROW + 10.0;
    let height = plot_bottom + 50.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{LABEL_X}" y="28" font-size="18" font-weight="bold" fill="#1f2328">Cost relative to the same workload without context (lower is better)</text>"##
    );
    let _ = writeln!(s, r##"<text x="{LABEL_X}" y="50" fill="#57606a">{}</text>"##, escape(subtitle));

    for tick in [0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0] {
        if tick < axis.lo || tick > axis.hi {
            continue;
        }
        let x = axis.x(tick);
        let (stroke, dash) = if tick == 1.0 { ("#1f2328", "") } else { ("#d0d7de", r#" stroke-dasharray="3,3""#) };
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{plot_bottom:.1}" stroke="{stroke}"{dash}/>"#,
            TOP - 8.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#57606a">{tick}x</text>"##,
            plot_bottom + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#57606a">ratio to baseline (log scale)</text>"##,
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        plot_bottom + 38.0
    );

    let mut y = TOP;
    for block in &blocks {
        y += TITLE_ROW;
        let _ = writeln!(
            s,
            r##"<text x="{LABEL_X}" y="{:.1}" font-weight="bold" fill="#1f2328" stroke="#ffffff" stroke-width="5" paint-order="stroke">{}</text>"##,
            y - 8.0,
            escape(&block.title)
        );
        for bar in &block.bars {
            let (x0, x1) = (axis.x(1.0), axis.x(bar.ratio.median));
            let (left, width) = (x0.min(x1), (x1 - x0).abs().max(1.0));
            let mid = y + ROW / 2.0;
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" fill="#1f2328">{}</text>"##,
                LABEL_X + 14.0,
                mid + 4.0,
                escape(label(&bar.name))
            );
            let _ = writeln!(
                s,
                r#"<rect x="{left:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{}"/>"#,
                y + 4.0,
                ROW - 8.0,
                color(&bar.name)
            );
            let (wmin, wmax) = (axis.x(bar.ratio.min), axis.x(bar.ratio.max));
            if bar.ratio.count > 1 {
                let _ = writeln!(
                    s,
                    r##"<line x1="{wmin:.1}" y1="{mid:.1}" x2="{wmax:.1}" y2="{mid:.1}" stroke="#1f2328" stroke-width="1.5"/>"##
                );
            }
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" fill="#1f2328">{:.2}x</text>"##,
                wmax.max(x1).max(x0) + 6.0,
                mid + 4.0,
                bar.ratio.median
            );
            y += ROW;
        }
    }
    s.push_str("</svg>\n");
    s
}
