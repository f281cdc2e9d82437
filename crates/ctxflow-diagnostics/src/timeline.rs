//! Drawing a recorded trace as an SVG timeline, for people who cannot (or would rather not)
//! load it into Perfetto: one lane per thread, a bar per poll coloured by resource, and an
//! arrow from each creator to the first run of what it created.
//!
//! It reads the JSON written by [`TraceRecorder`](super::TraceRecorder) (so it also works on a
//! trace saved earlier, or on another machine), and only the parts of the trace-event format
//! that the recorder writes: `thread_name` metadata, `B`/`E` slices with `args.id`,
//! `args.kind`, `args.trigger`, and `s`/`f` flows.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write};

use serde_json::Value;

/// Why a trace could not be drawn.
///
/// ```
/// use ctxflow_diagnostics::timeline::{self, TimelineError};
///
/// let err = timeline::svg_from_json("{\"events\": []}").unwrap_err();
/// assert!(matches!(err, TimelineError::NotATrace));
/// assert!(matches!(timeline::svg_from_json("not json"), Err(TimelineError::Json(_))));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TimelineError {
    /// The text is not JSON.
    Json(serde_json::Error),
    /// The JSON has no `traceEvents` array (nor is it an array of events).
    NotATrace,
}

impl fmt::Display for TimelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimelineError::Json(e) => write!(f, "the trace is not valid JSON: {e}"),
            TimelineError::NotATrace => f.write_str("the JSON holds no `traceEvents` array"),
        }
    }
}

impl std::error::Error for TimelineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TimelineError::Json(e) => Some(e),
            TimelineError::NotATrace => None,
        }
    }
}

/// One run (poll or callback) of a resource on one thread.
struct Slice {
    tid: u64,
    start: f64,
    end: f64,
    depth: usize,
    id: u64,
    name: String,
    resolved: bool,
}

/// A creator -> created link: `(thread, ts)` of the creation and of the first run.
#[derive(Default)]
struct Flow {
    from: Option<(u64, f64)>,
    to: Option<(u64, f64)>,
}

/// The parts of a trace the drawing needs.
#[derive(Default)]
struct Trace {
    threads: BTreeMap<u64, String>,
    slices: Vec<Slice>,
    /// Flow id (the created resource's id) -> its two ends.
    flows: BTreeMap<u64, Flow>,
    /// Resource id -> (kind, trigger), from slice args.
    resources: BTreeMap<u64, (String, Option<u64>)>,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key)?.as_f64()
}

fn uint(v: &Value, key: &str) -> Option<u64> {
    v.get(key)?.as_u64()
}

impl Trace {
    fn parse(json: &str) -> Result<Trace, TimelineError> {
        let root: Value = serde_json::from_str(json).map_err(TimelineError::Json)?;
        let events = match &root {
            Value::Array(a) => a,
            Value::Object(o) => o.get("traceEvents").and_then(Value::as_array).ok_or(TimelineError::NotATrace)?,
            _ => return Err(TimelineError::NotATrace),
        };
        let mut trace = Trace::default();
        let mut open: HashMap<u64, Vec<Slice>> = HashMap::new();
        for e in events {
            let (Some(ph), tid) = (e.get("ph").and_then(Value::as_str), uint(e, "tid").unwrap_or(0)) else { continue };
            let ts = num(e, "ts").unwrap_or(0.0);
            match ph {
                "M" if e.get("name").and_then(Value::as_str) == Some("thread_name") => {
                    let name = e.pointer("/args/name").and_then(Value::as_str).unwrap_or("thread");
                    trace.threads.insert(tid, name.to_owned());
                }
                "B" => {
                    let stack = open.entry(tid).or_default();
                    let id = e.pointer("/args/id").and_then(Value::as_u64).unwrap_or(0);
                    let name = e.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
                    let kind = e.pointer("/args/kind").and_then(Value::as_str).unwrap_or("?").to_owned();
                    let trigger = e.pointer("/args/trigger").and_then(Value::as_u64);
                    trace.resources.entry(id).or_insert((kind, trigger));
                    let depth = stack.len();
                    stack.push(Slice { tid, start: ts, end: ts, depth, id, name, resolved: false });
                }
                "E" => {
                    if let Some(mut s) = open.get_mut(&tid).and_then(Vec::pop) {
                        s.end = ts;
                        s.resolved = e.pointer("/args/resolved").and_then(Value::as_bool) == Some(true);
                        trace.slices.push(s);
                    }
                }
                "s" | "f" => {
                    let Some(id) = uint(e, "id") else { continue };
                    let flow = trace.flows.entry(id).or_default();
                    if ph == "s" {
                        flow.from = Some((tid, ts));
                    } else {
                        flow.to = Some((tid, ts));
                    }
                }
                _ => {}
            }
        }
        Ok(trace)
    }
}

/// Layout constants, in SVG pixels.
const WIDTH: f64 = 1200.0;
const LABEL_W: f64 = 190.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 70.0;
const ROW_H: f64 = 22.0;
const LANE_PAD: f64 = 12.0;

/// A colour per resource: hues spread by the golden angle, so neighbours differ.
fn colour(index: usize) -> String {
    let hue = (index as f64 * 137.508) % 360.0;
    format!("hsl({hue:.0},62%,52%)")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A tick step (1, 2 or 5 times a power of ten, in µs) giving about eight ticks over `span`.
fn tick_step(span: f64) -> f64 {
    let rough = (span / 8.0).max(1e-3);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= rough).unwrap_or(10.0 * power)
}

fn label_time(us: f64) -> String {
    if us >= 1000.0 { format!("{:.1} ms", us / 1000.0) } else { format!("{us:.0} µs") }
}

/// Draws a trace written by [`TraceRecorder`](super::TraceRecorder) as an SVG document.
///
/// ```
/// use std::sync::Arc;
/// use ctxflow_diagnostics::{TraceRecorder, timeline};
///
/// let recorder = Arc::new(TraceRecorder::new());
/// let hook = ctxflow::hooks::register(recorder.clone());
/// let job = ctxflow::AsyncResource::new("job");
/// job.sync_run(|| ());
/// drop((job, hook));
/// let svg = timeline::svg_from_json(&recorder.to_json()).unwrap();
/// assert!(svg.starts_with("<svg") && svg.contains("job #"));
/// ```
pub fn svg_from_json(json: &str) -> Result<String, TimelineError> {
    Ok(draw(&Trace::parse(json)?))
}

/// Where things go: lanes by thread, x by time, a colour index per resource.
struct Canvas<'a> {
    trace: &'a Trace,
    out: String,
    lanes: Vec<u64>,
    /// Thread -> (top, height) of its lane.
    lane_y: HashMap<u64, (f64, f64)>,
    plot_bottom: f64,
    t0: f64,
    t1: f64,
    colour_index: HashMap<u64, usize>,
}

const LEGEND_COLS: usize = 4;
const LEGEND_MAX: usize = 48;

fn draw(trace: &Trace) -> String {
    let mut c = Canvas::new(trace);
    c.header();
    c.lanes_and_grid();
    c.bars();
    c.arrows();
    c.labels();
    c.legend();
    c.out.push_str("</svg>\n");
    c.out
}

impl<'a> Canvas<'a> {
    fn new(trace: &'a Trace) -> Canvas<'a> {
        // Lanes: threads that ran something or created something, in thread order.
        let mut lanes: Vec<u64> = trace.slices.iter().map(|s| s.tid).collect();
        lanes.extend(trace.flows.values().filter_map(|f| f.from.map(|(t, _)| t)));
        lanes.sort_unstable();
        lanes.dedup();
        let mut lane_y = HashMap::new();
        let mut y = TOP;
        for &t in &lanes {
            let rows = trace.slices.iter().filter(|s| s.tid == t).map(|s| s.depth + 1).max().unwrap_or(1);
            let h = rows as f64 * ROW_H + LANE_PAD;
            lane_y.insert(t, (y, h));
            y += h;
        }
        let times = trace.slices.iter().flat_map(|s| [s.start, s.end]);
        let times = times.chain(trace.flows.values().flat_map(|f| [f.from, f.to]).flatten().map(|(_, ts)| ts));
        let (t0, t1) = times.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let (t0, t1) = if t0.is_finite() { (t0, t1.max(t0 + 1.0)) } else { (0.0, 1.0) };
        let colour_index = trace.resources.keys().enumerate().map(|(i, id)| (*id, i)).collect();
        Canvas { trace, out: String::new(), lanes, lane_y, plot_bottom: y, t0, t1, colour_index }
    }

    fn x(&self, ts: f64) -> f64 {
        LABEL_W + (ts - self.t0) / (self.t1 - self.t0) * (WIDTH - LABEL_W - RIGHT)
    }

    /// Top of the bar row `depth` in the lane of `tid`.
    fn row_y(&self, tid: u64, depth: usize) -> Option<f64> {
        self.lane_y.get(&tid).map(|(y, _)| y + 4.0 + depth as f64 * ROW_H)
    }

    fn colour_of(&self, id: u64) -> String {
        colour(self.colour_index.get(&id).copied().unwrap_or(0))
    }

    fn header(&mut self) {
        let legend_rows = self.trace.resources.len().min(LEGEND_MAX).div_ceil(LEGEND_COLS);
        let height = self.plot_bottom + 50.0 + legend_rows as f64 * 18.0 + 20.0;
        let _ = writeln!(
            self.out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">"#
        );
        self.out.push_str(concat!(
            r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">"#,
            r##"<path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>"##,
            "\n",
            r#"<rect width="100%" height="100%" fill="white"/>"#,
            "\n"
        ));
        let _ = writeln!(
            self.out,
            r#"<text x="12" y="24" font-size="15" font-weight="bold">ctxflow trace: {} resources, {} runs, {} on {} threads</text>"#,
            self.trace.resources.len(),
            self.trace.slices.len(),
            label_time(self.t1 - self.t0),
            self.lanes.len()
        );
        let _ = writeln!(
            self.out,
            r##"<text x="12" y="42" fill="#555">a bar is one poll or callback run (colour = resource, ✓ = the poll that completed it); an arrow goes from where a resource was created to its first run</text>"##
        );
    }

    fn lanes_and_grid(&mut self) {
        for (i, &t) in self.lanes.iter().enumerate() {
            let (ly, lh) = self.lane_y[&t];
            let fill = if i % 2 == 0 { "#f4f6f8" } else { "#ffffff" };
            let _ = writeln!(self.out, r#"<rect x="0" y="{ly:.1}" width="{WIDTH}" height="{lh:.1}" fill="{fill}"/>"#);
            let name = self.trace.threads.get(&t).map_or("thread", String::as_str);
            let _ = writeln!(
                self.out,
                r##"<text x="10" y="{:.1}" fill="#222">{} <tspan fill="#888">(tid {t})</tspan></text>"##,
                ly + 15.0,
                escape(name)
            );
            // What ran there, so that a worker and a blocking-pool thread of the same name differ.
            let mut kinds: Vec<&str> = self
                .trace
                .slices
                .iter()
                .filter(|s| s.tid == t && s.depth == 0)
                .filter_map(|s| self.trace.resources.get(&s.id).map(|r| r.0.as_str()))
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            if !kinds.is_empty() {
                let _ = writeln!(
                    self.out,
                    r##"<text x="10" y="{:.1}" fill="#888" font-size="10">runs: {}</text>"##,
                    ly + 28.0,
                    escape(&kinds.join(", "))
                );
            }
        }
        // Ticks at round times since the first event.
        let step = tick_step(self.t1 - self.t0);
        for i in 0..=((self.t1 - self.t0) / step) as u64 {
            let since = i as f64 * step;
            let tx = self.x(self.t0 + since);
            let _ = writeln!(
                self.out,
                r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#d8dce0"/>"##,
                TOP - 6.0,
                self.plot_bottom
            );
            let anchor = if i == 0 { "start" } else { "middle" };
            let _ = writeln!(
                self.out,
                r##"<text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" fill="#555">{}</text>"##,
                TOP - 10.0,
                label_time(since)
            );
        }
    }

    /// `(x, y, width)` of a slice's bar.
    fn bar(&self, s: &Slice) -> Option<(f64, f64, f64)> {
        let y = self.row_y(s.tid, s.depth)?;
        Some((self.x(s.start), y, (self.x(s.end) - self.x(s.start)).max(2.0)))
    }

    fn bars(&mut self) {
        let mut out = std::mem::take(&mut self.out);
        for s in &self.trace.slices {
            let Some((bx, by, bw)) = self.bar(s) else { continue };
            let tip = format!("{} ({}, {})", s.name, label_time(s.start - self.t0), label_time(s.end - s.start));
            let _ = writeln!(
                out,
                r##"<rect x="{bx:.1}" y="{by:.1}" width="{bw:.1}" height="{:.1}" rx="2" fill="{}" stroke="#333" stroke-width="0.5"><title>{}</title></rect>"##,
                ROW_H - 5.0,
                self.colour_of(s.id),
                escape(&tip)
            );
        }
        self.out = out;
    }

    /// Bar labels, drawn last so that arrows never hide them.
    fn labels(&mut self) {
        let mut out = std::mem::take(&mut self.out);
        for s in &self.trace.slices {
            let Some((bx, by, bw)) = self.bar(s) else { continue };
            let label = if s.resolved { format!("{} ✓", s.name) } else { s.name.clone() };
            if bw > label.chars().count() as f64 * 6.3 + 6.0 {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" fill="white">{}</text>"#,
                    bx + 4.0,
                    by + 12.5,
                    escape(&label)
                );
            }
        }
        self.out = out;
    }

    /// The row an arrow leaves from: the innermost run on `tid` at `ts` (the creator's code).
    fn creator_row(&self, tid: u64, ts: f64) -> usize {
        let inside = self.trace.slices.iter().filter(|s| s.tid == tid && s.start <= ts && ts <= s.end);
        inside.map(|s| s.depth).max().unwrap_or(0)
    }

    /// Arrows from where each resource was created to its first run.
    fn arrows(&mut self) {
        let mut out = std::mem::take(&mut self.out);
        for (id, flow) in &self.trace.flows {
            let (Some((st, sts)), Some((et, ets))) = (flow.from, flow.to) else { continue };
            let first = self.trace.slices.iter().find(|s| s.id == *id && s.tid == et && s.start == ets);
            let (Some(y1), Some(y2)) =
                (self.row_y(st, self.creator_row(st, sts)), self.row_y(et, first.map_or(0, |s| s.depth)))
            else {
                continue;
            };
            let mid = (ROW_H - 5.0) / 2.0;
            let (x1, y1, x2, y2) = (self.x(sts), y1 + mid, self.x(ets), y2 + mid);
            let bend = ((x2 - x1).abs() / 2.0).max(18.0);
            let _ = writeln!(
                out,
                r##"<path d="M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}" fill="none" stroke="#444" stroke-width="1.1" opacity="0.75" marker-end="url(#arrow)"/>"##,
                x1 + bend,
                x2 - bend
            );
            let _ = writeln!(out, r##"<circle cx="{x1:.1}" cy="{y1:.1}" r="2.5" fill="#444"/>"##);
        }
        self.out = out;
    }

    /// Colour, resource, and who created it.
    fn legend(&mut self) {
        let ly = self.plot_bottom + 30.0;
        let _ = writeln!(
            self.out,
            r#"<text x="12" y="{ly:.1}" font-weight="bold">resources (kind #id ← created by #trigger)</text>"#
        );
        let col_w = (WIDTH - 24.0) / LEGEND_COLS as f64;
        let mut out = std::mem::take(&mut self.out);
        for (i, (id, (kind, trigger))) in self.trace.resources.iter().take(LEGEND_MAX).enumerate() {
            let (cx, cy) = (12.0 + (i % LEGEND_COLS) as f64 * col_w, ly + 12.0 + (i / LEGEND_COLS) as f64 * 18.0);
            let by = trigger.map_or(String::new(), |t| format!(" ← #{t}"));
            let _ = writeln!(
                out,
                r#"<rect x="{cx:.1}" y="{cy:.1}" width="12" height="12" fill="{}"/>"#,
                self.colour_of(*id)
            );
            let _ =
                writeln!(out, r#"<text x="{:.1}" y="{:.1}">{} #{id}{by}</text>"#, cx + 17.0, cy + 10.0, escape(kind));
        }
        let more = self.trace.resources.len().saturating_sub(LEGEND_MAX);
        if more > 0 {
            let rows = LEGEND_MAX.div_ceil(LEGEND_COLS) as f64;
            let _ = writeln!(out, r#"<text x="12" y="{:.1}">… and {more} more</text>"#, ly + 24.0 + rows * 18.0);
        }
        self.out = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(8000.0), 1000.0);
        assert_eq!(tick_step(15_000.0), 2000.0);
        assert_eq!(tick_step(30.0), 5.0);
    }

    #[test]
    fn rejects_what_is_not_a_trace() {
        assert!(matches!(svg_from_json("{"), Err(TimelineError::Json(_))));
        assert!(matches!(svg_from_json("{\"a\":1}"), Err(TimelineError::NotATrace)));
        assert!(svg_from_json("[]").unwrap().starts_with("<svg"));
    }
}
