//! A hook that records lifecycle events and writes them as a Chrome trace-event file, for
//! looking at which task spawned which and when each one ran (Perfetto, `chrome://tracing`, or
//! the SVG drawn by [`timeline`](crate::timeline) when that feature is on).
//!
//! Recording must disturb the run as little as possible, so a callback only stamps the time
//! and pushes a small record into its thread's shard; all the work of pairing polls, naming
//! resources and writing JSON happens later, in [`TraceRecorder::to_json`].

mod write;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::counter::{self as shard, SHARDS};
use ctxflow::AsyncId;
use ctxflow::hooks::{Hook, Init};

/// Records hook events in memory; write them out with [`to_json`](Self::to_json) or
/// [`save`](Self::save).
///
/// ```
/// use std::sync::Arc;
/// use ctxflow_diagnostics::TraceRecorder;
///
/// let recorder = Arc::new(TraceRecorder::new());
/// let hook = ctxflow::hooks::register(recorder.clone());
/// let job = ctxflow::AsyncResource::new("job");
/// job.sync_run(|| { /* the work */ });
/// drop(job);
/// drop(hook);
/// let json = recorder.to_json();
/// assert!(json.contains(r#""name":"job #"#));
/// // recorder.save("trace.json")? then open it in https://ui.perfetto.dev
/// ```
pub struct TraceRecorder {
    start: Instant,
    limit: usize,
    recorded: AtomicUsize,
    dropped: AtomicU64,
    shards: [Mutex<Vec<Record>>; SHARDS],
}

/// One event, as stamped by a callback.
#[derive(Clone)]
pub(crate) struct Record {
    /// Nanoseconds since the recorder was made.
    pub(crate) nanos: u64,
    /// The recording thread (see [`thread_index`]).
    pub(crate) thread: u32,
    pub(crate) event: Event,
}

#[derive(Clone)]
pub(crate) enum Event {
    Init { id: AsyncId, trigger: AsyncId, kind: Cow<'static, str> },
    Before(AsyncId),
    After(AsyncId),
    Resolve(AsyncId),
    Destroy(AsyncId),
}

/// Threads that ever recorded an event, by index: their names for the trace's metadata.
static THREAD_NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

thread_local! {
    static THREAD: u32 = {
        let mut names = thread_names();
        let index = names.len() as u32;
        let name = std::thread::current().name().map(str::to_owned);
        names.push(name.unwrap_or_else(|| format!("thread {}", index + 1)));
        index
    };
}

fn thread_names() -> MutexGuard<'static, Vec<String>> {
    // Each critical section is one push or one clone: a poisoned list is consistent.
    THREAD_NAMES.lock().unwrap_or_else(|p| p.into_inner())
}

/// This thread's index in [`THREAD_NAMES`]; `u32::MAX` for a thread being torn down.
fn thread_index() -> u32 {
    THREAD.try_with(|t| *t).unwrap_or(u32::MAX)
}

impl Default for TraceRecorder {
    fn default() -> Self {
        TraceRecorder::new()
    }
}

impl TraceRecorder {
    /// A recorder keeping up to one million events (about 40 MB); later ones are counted in
    /// [`dropped`](Self::dropped) and left out. Its clock starts now.
    ///
    /// ```
    /// let recorder = ctxflow_diagnostics::TraceRecorder::new();
    /// assert_eq!(recorder.len(), 0);
    /// ```
    pub fn new() -> TraceRecorder {
        TraceRecorder::with_limit(1_000_000)
    }

    /// A recorder keeping up to `max_events` events.
    ///
    /// ```
    /// let recorder = std::sync::Arc::new(ctxflow_diagnostics::TraceRecorder::with_limit(1));
    /// let hook = ctxflow::hooks::register(recorder.clone());
    /// let a = ctxflow::AsyncResource::new("a");
    /// let b = ctxflow::AsyncResource::new("b");
    /// drop(hook);
    /// assert_eq!(recorder.len(), 1);
    /// assert!(recorder.dropped() >= 1);
    /// # drop((a, b));
    /// ```
    pub fn with_limit(max_events: usize) -> TraceRecorder {
        TraceRecorder {
            start: Instant::now(),
            limit: max_events,
            recorded: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            shards: [const { Mutex::new(Vec::new()) }; SHARDS],
        }
    }

    /// Events kept so far.
    ///
    /// ```
    /// assert_eq!(ctxflow_diagnostics::TraceRecorder::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether no event was kept.
    ///
    /// ```
    /// assert!(ctxflow_diagnostics::TraceRecorder::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events left out because the limit was reached.
    ///
    /// ```
    /// assert_eq!(ctxflow_diagnostics::TraceRecorder::new().dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, event: Event) {
        if self.recorded.fetch_add(1, Ordering::Relaxed) >= self.limit {
            self.recorded.fetch_sub(1, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let record = Record { nanos, thread: thread_index(), event };
        lock(&self.shards[shard::index()]).push(record);
    }

    /// Every kept event, in time order (each thread's events in the order they happened).
    pub(crate) fn records(&self) -> Vec<Record> {
        let mut all: Vec<Record> = Vec::with_capacity(self.len());
        for s in &self.shards {
            all.extend(lock(s).iter().cloned());
        }
        all.sort_by_key(|r| r.nanos);
        all
    }

    /// The events as Chrome trace-event JSON (see the [`trace`](self) module and
    /// docs/hooks.md for what is in it). Polls still in progress are closed at the last event.
    ///
    /// ```
    /// let json = ctxflow_diagnostics::TraceRecorder::new().to_json();
    /// assert!(json.starts_with(r#"{"traceEvents":["#));
    /// ```
    pub fn to_json(&self) -> String {
        let names = thread_names().clone();
        write::trace_json(&self.records(), &names, self.dropped())
    }

    /// Writes [`to_json`](Self::to_json) to a file.
    ///
    /// ```no_run
    /// # let recorder = ctxflow_diagnostics::TraceRecorder::new();
    /// recorder.save("trace.json")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_json())
    }
}

fn lock(shard: &Mutex<Vec<Record>>) -> MutexGuard<'_, Vec<Record>> {
    // A critical section is one push or one clone: a poisoned list is consistent.
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hook for TraceRecorder {
    fn init(&self, resource: &Init<'_>) {
        let (id, trigger, kind) = (resource.id(), resource.trigger(), crate::intern_kind(resource.kind()));
        self.push(Event::Init { id, trigger, kind });
    }
    fn before(&self, id: AsyncId) {
        self.push(Event::Before(id));
    }
    fn after(&self, id: AsyncId) {
        self.push(Event::After(id));
    }
    fn resolve(&self, id: AsyncId) {
        self.push(Event::Resolve(id));
    }
    fn destroy(&self, id: AsyncId) {
        self.push(Event::Destroy(id));
    }
}

impl std::fmt::Debug for TraceRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceRecorder").field("events", &self.len()).field("dropped", &self.dropped()).finish()
    }
}
