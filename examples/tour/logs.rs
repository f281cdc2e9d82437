//! Logs that carry the request: a tracing subscriber whose every line gets the request id and
//! tenant from the context (ctxflow-tracing), captured in memory so the tour can show a few
//! lines and check all of them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use ctxflow_http::REQUEST_ID;
use ctxflow_tracing::ContextFields;
use tracing_subscriber::fmt::MakeWriter;

use crate::service::TENANT;

/// An in-memory log sink.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8_lossy(&bytes).lines().map(str::to_owned).collect()
    }

    pub fn clear(&self) {
        self.0.lock().expect("log buffer").clear();
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Installs the process's subscriber: compact text, no colours, context fields appended.
pub fn install() -> Captured {
    let sink = Captured::default();
    let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .compact()
        .map_event_format(|format| fields.wrap(format))
        .with_writer(sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the tour installs the only subscriber");
    sink
}

/// The value of `key=value` in a log line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|t| t.strip_prefix(key)?.strip_prefix('=')).map(|v| v.trim_matches('"'))
}

/// Checks that every line's `request_id` field is the one its event was logged for
/// (`expect`), and that its tenant is the one that request id was sent with.
/// Returns (lines checked, mismatches).
pub fn check(lines: &[String]) -> (usize, usize) {
    let mut mismatches = 0;
    for line in lines {
        let ok = match (field(line, "expect"), field(line, "request_id"), field(line, "tenant")) {
            (Some(expect), Some(id), Some(tenant)) => {
                let n: usize = expect.trim_start_matches("req-").parse().unwrap_or(usize::MAX);
                expect == id && crate::load::TENANTS.get(n % crate::load::TENANTS.len()) == Some(&tenant)
            }
            _ => false,
        };
        mismatches += usize::from(!ok);
    }
    (lines.len(), mismatches)
}
