//! An in-memory `MakeWriter` for the integration tests: every formatted event is appended
//! to one shared buffer, whole (the fmt layer writes each event with one `write` call).

#![allow(dead_code)]

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()).expect("utf-8 output")
    }

    /// Everything written so far, one string per line.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    /// Every line parsed as a JSON object.
    pub fn json_lines(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.lines()
            .iter()
            .map(|l| match serde_json::from_str(l) {
                Ok(serde_json::Value::Object(map)) => map,
                other => panic!("not a JSON object: {l:?} ({other:?})"),
            })
            .collect()
    }
}

pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> CaptureWriter {
        CaptureWriter(self.0.clone())
    }
}

/// The string value of `key` in a JSON line (`None` when absent or not a string).
pub fn str_of<'a>(line: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> Option<&'a str> {
    line.get(key).and_then(|v| v.as_str())
}

/// The value of `key=` in a text line, up to the next space.
pub fn text_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!(" {key}=");
    let start = line.find(&needle)? + needle.len();
    line[start..].split(' ').next()
}
