//! Turning recorded events into the Chrome trace-event format.
//!
//! The format (as read by Perfetto and `chrome://tracing`) wants, per thread, properly nested
//! `B`/`E` pairs. Our events already nest per thread (guards are dropped in reverse order), but
//! a recorder registered or removed mid-run sees half pairs, so pairing is done here with a
//! stack per thread: an `after` with no `before` is left out, and a poll still open at the end
//! is closed at the last timestamp and marked `"unfinished"`.
//!
//! What is written, all with `pid` 1:
//! - `M` metadata: the process name and one `thread_name` per thread that recorded events.
//! - `B`/`E` per poll or callback run, on the thread that ran it, named `"<kind> #<id>"`, with
//!   `args` `{id, trigger, kind}` (the parent link), and `resolved: true` on the `E` of the poll
//!   in which a task's future completed.
//! - A flow (`s` at `init` on the creating thread, `f` with `bp: "e"` at the first `B`) from
//!   each creator to what it created, id = the created resource's id: drawn as an arrow.
//! - An async slice (`b` at `init`, `e` at `destroy`, category `lifetime`) per resource: its
//!   whole life. A resource still alive at the end is closed there with `alive_at_end: true`.

use std::collections::{HashMap, HashSet};

use super::{Event, Record};
use crate::json::Object;
use ctxflow::AsyncId;

const PID: u64 = 1;

struct Writer {
    out: String,
    first: bool,
}

impl Writer {
    /// Starts the next element of the `traceEvents` array.
    fn event(&mut self) -> Object<'_> {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('\n');
        Object::new(&mut self.out)
    }
}

/// What `init` told us about a resource.
struct Known {
    name: String,
    kind: String,
    trigger: AsyncId,
}

fn tid(thread: u32) -> u64 {
    u64::from(thread) + 1
}

pub(crate) fn trace_json(records: &[Record], thread_names: &[String], dropped: u64) -> String {
    let mut w = Writer { out: String::from("{\"traceEvents\":["), first: true };
    w.event()
        .str("ph", "M")
        .str("name", "process_name")
        .num("pid", PID)
        .object("args", |a| a.str("name", "ctxflow"))
        .end();
    let mut threads: Vec<u32> = records.iter().map(|r| r.thread).collect::<HashSet<_>>().into_iter().collect();
    threads.sort_unstable();
    for t in threads {
        let name = thread_names.get(t as usize).map_or("exiting thread", String::as_str);
        w.event()
            .str("ph", "M")
            .str("name", "thread_name")
            .num("pid", PID)
            .num("tid", tid(t))
            .object("args", |a| a.str("name", name))
            .end();
        w.event()
            .str("ph", "M")
            .str("name", "thread_sort_index")
            .num("pid", PID)
            .num("tid", tid(t))
            .object("args", |a| a.num("sort_index", u64::from(t)))
            .end();
    }

    let mut known: HashMap<AsyncId, Known> = HashMap::new();
    let mut awaiting_first_run: HashSet<AsyncId> = HashSet::new();
    let mut alive: HashSet<AsyncId> = HashSet::new();
    // Per thread: the open runs, innermost last, each with "resolved during this run".
    let mut stacks: HashMap<u32, Vec<(AsyncId, bool)>> = HashMap::new();

    for r in records {
        let (ts, t) = (r.nanos, tid(r.thread));
        match &r.event {
            Event::Init { id, trigger, kind } => {
                let k = Known { name: format!("{kind} #{id}"), kind: kind.to_string(), trigger: *trigger };
                w.event()
                    .str("ph", "b")
                    .str("cat", "lifetime")
                    .str("name", &k.name)
                    .num("id", id.as_u64())
                    .num("pid", PID)
                    .num("tid", t)
                    .micros("ts", ts)
                    .object("args", |a| a.num("id", id.as_u64()).num("trigger", trigger.as_u64()).str("kind", &k.kind))
                    .end();
                w.event()
                    .str("ph", "s")
                    .str("cat", "spawn")
                    .str("name", "spawn")
                    .num("id", id.as_u64())
                    .num("pid", PID)
                    .num("tid", t)
                    .micros("ts", ts)
                    .end();
                awaiting_first_run.insert(*id);
                alive.insert(*id);
                known.insert(*id, k);
            }
            Event::Before(id) => {
                stacks.entry(r.thread).or_default().push((*id, false));
                let (name, kind, trigger) = match known.get(id) {
                    Some(k) => (k.name.clone(), k.kind.as_str(), Some(k.trigger)),
                    None => (format!("unknown #{id}"), "unknown", None),
                };
                w.event()
                    .str("ph", "B")
                    .str("cat", kind)
                    .str("name", &name)
                    .num("pid", PID)
                    .num("tid", t)
                    .micros("ts", ts)
                    .object("args", |a| {
                        let a = a.num("id", id.as_u64()).str("kind", kind);
                        match trigger {
                            Some(tr) => a.num("trigger", tr.as_u64()),
                            None => a,
                        }
                    })
                    .end();
                if awaiting_first_run.remove(id) {
                    w.event()
                        .str("ph", "f")
                        .str("bp", "e")
                        .str("cat", "spawn")
                        .str("name", "spawn")
                        .num("id", id.as_u64())
                        .num("pid", PID)
                        .num("tid", t)
                        .micros("ts", ts)
                        .end();
                }
            }
            Event::Resolve(id) => {
                if let Some(open) = stacks.get_mut(&r.thread).and_then(|s| s.iter_mut().rev().find(|(i, _)| i == id)) {
                    open.1 = true;
                }
            }
            Event::After(id) => {
                let stack = stacks.entry(r.thread).or_default();
                if let Some(pos) = stack.iter().rposition(|(i, _)| i == id) {
                    // Runs opened inside it whose `after` was never seen end with it.
                    while stack.len() > pos {
                        let (_, resolved) = stack.pop().expect("len > pos");
                        close(&mut w, t, ts, resolved, stack.len() > pos);
                    }
                }
            }
            Event::Destroy(id) => {
                if alive.remove(id) {
                    end_life(&mut w, *id, &known[id].name, t, ts, false);
                }
            }
        }
    }

    let end = records.last().map_or(0, |r| r.nanos);
    let mut open: Vec<(u32, Vec<(AsyncId, bool)>)> = stacks.into_iter().collect();
    open.sort_unstable_by_key(|(t, _)| *t);
    for (thread, mut stack) in open {
        while let Some((_, resolved)) = stack.pop() {
            close(&mut w, tid(thread), end, resolved, true);
        }
    }
    let mut alive: Vec<AsyncId> = alive.into_iter().collect();
    alive.sort_unstable();
    let last_thread = records.last().map_or(1, |r| tid(r.thread));
    for id in alive {
        end_life(&mut w, id, &known[&id].name, last_thread, end, true);
    }

    let mut out = w.out;
    out.push_str("\n],\"displayTimeUnit\":\"ms\",\"otherData\":");
    Object::new(&mut out).str("producer", "ctxflow").num("dropped_events", dropped).end();
    out.push('}');
    out
}

fn close(w: &mut Writer, tid: u64, ts: u64, resolved: bool, unfinished: bool) {
    let e = w.event().str("ph", "E").num("pid", PID).num("tid", tid).micros("ts", ts);
    let e = if resolved || unfinished {
        e.object("args", |a| {
            let a = if resolved { a.bool("resolved", true) } else { a };
            if unfinished { a.bool("unfinished", true) } else { a }
        })
    } else {
        e
    };
    e.end();
}

fn end_life(w: &mut Writer, id: AsyncId, name: &str, tid: u64, ts: u64, alive_at_end: bool) {
    let e = w
        .event()
        .str("ph", "e")
        .str("cat", "lifetime")
        .str("name", name)
        .num("id", id.as_u64())
        .num("pid", PID)
        .num("tid", tid)
        .micros("ts", ts);
    let e = if alive_at_end { e.object("args", |a| a.bool("alive_at_end", true)) } else { e };
    e.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(nanos: u64, thread: u32, event: Event) -> Record {
        Record { nanos, thread, event }
    }

    #[test]
    fn half_pairs_are_dropped_or_closed() {
        // Real ids (they cannot be made from numbers outside ctxflow).
        let (other, res) = (ctxflow::AsyncResource::new("other"), ctxflow::AsyncResource::new("res"));
        let id = res.id();
        let records = [
            rec(1, 0, Event::After(other.id())),
            rec(2, 0, Event::Init { id, trigger: AsyncId::ROOT, kind: "task".into() }),
            rec(3, 0, Event::Before(id)),
        ];
        let json = trace_json(&records, &["main".into()], 0);
        assert_eq!(json.matches(r#""ph":"B""#).count(), 1);
        assert_eq!(json.matches(r#""ph":"E""#).count(), 1);
        assert!(json.contains(r#""unfinished":true"#));
        assert!(json.contains(r#""alive_at_end":true"#));
    }
}
