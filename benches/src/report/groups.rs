//! What each measured group is, in words, and what it is compared against.

/// A workload as the report presents it.
pub struct Group {
    /// The group id in the records (criterion group or probe group).
    pub id: &'static str,
    /// A short title for charts.
    pub short: &'static str,
    /// What one iteration does.
    pub title: &'static str,
    /// The contender every ratio in this group is taken against.
    pub base: &'static str,
    /// Whether the chart shows this group.
    pub chart: bool,
}

const fn group(id: &'static str, short: &'static str, title: &'static str, base: &'static str, chart: bool) -> Group {
    Group { id, short, title, base, chart }
}

/// The time groups, in report order.
pub const TIME: &[Group] = &[
    group(
        "read",
        "read",
        "read the request value once (reference points: thread_local! read, Arc clone+drop, Box alloc+free)",
        "thread_local",
        false,
    ),
    group(
        "poll",
        "enter/exit per poll",
        "one poll of a never-ready future inside the scope: one enter/exit (baseline: the bare poll)",
        "tokio",
        false,
    ),
    group("scope_setup", "scope set-up", "set a scope up around a ready future, poll it once, drop it", "tokio", false),
    group(
        "http_layer",
        "HTTP layer alone",
        "one request (no incoming headers) through ctxflow-http's ServerLayer, or a pass-through tower layer, around a service that answers at once",
        "passthrough",
        false,
    ),
    group(
        "log_event",
        "log line with request fields",
        "format one log event (tracing-subscriber's text format, into io::sink) with the request's id and trace id: from the context (ctxflow-tracing's ContextFields) or from an entered tracing span (baseline: the event without them)",
        "fmt",
        false,
    ),
    group(
        "log_event_json",
        "JSON log line with request fields",
        "the same in tracing-subscriber's JSON format: the fields as keys of the event's object, or of its span's",
        "fmt",
        false,
    ),
    group(
        "spawn_join_ct",
        "spawn + join (current-thread)",
        "spawn a task that reads the value once, join it; current-thread runtime",
        "tokio",
        true,
    ),
    group(
        "awaits20_ct",
        "spawn + 20 awaits (current-thread)",
        "spawn a task of 20 awaits (yield_now) with a read after each, join it; current-thread runtime",
        "tokio",
        true,
    ),
    group(
        "awaits20_mt",
        "spawn + 20 awaits (multi-thread)",
        "the same on a multi-thread runtime (2 workers)",
        "tokio",
        true,
    ),
    group(
        "requests10k_mt",
        "10 000 requests x 3 children (multi-thread)",
        "10 000 concurrent requests, each: set its value, 20 awaits with a read each, spawn 3 children that yield and read, join them; multi-thread runtime (2 workers)",
        "tokio",
        true,
    ),
];

/// Node's groups, beside the Rust group each mirrors.
pub const NODE: &[(Group, &str)] = &[
    (
        group(
            "node_awaits20",
            "Node: 20 awaits",
            "Node: call an async function of 20 awaits (await null) with a read after each, await it",
            "plain",
            true,
        ),
        "awaits20_ct",
    ),
    (
        group(
            "node_requests10k",
            "Node: 10 000 requests",
            "Node: 10 000 concurrent requests, each: 20 awaits with a read each, then a setImmediate and a read",
            "plain",
            true,
        ),
        "requests10k_mt",
    ),
];

/// Instruction counts of the synchronous groups (valgrind), beside their timed twins.
pub const INSTR: &[Group] = &[
    group("instr_read", "read (instructions)", "instructions to read the request value once", "thread_local", false),
    group(
        "instr_poll",
        "enter/exit per poll (instructions)",
        "instructions for one poll inside the scope (baseline: the bare poll)",
        "tokio",
        false,
    ),
    group(
        "instr_scope_setup",
        "scope set-up (instructions)",
        "instructions to set a scope up, poll a ready future once, drop it",
        "tokio",
        false,
    ),
    group(
        "instr_http_layer",
        "HTTP layer alone (instructions)",
        "instructions for one request through the layer alone",
        "passthrough",
        false,
    ),
    group(
        "instr_log_event",
        "log line with request fields (instructions)",
        "instructions to format one log event with the request's id and trace id",
        "fmt",
        false,
    ),
    group(
        "instr_log_event_json",
        "JSON log line with request fields (instructions)",
        "the same in tracing-subscriber's JSON format",
        "fmt",
        false,
    ),
    group(
        "instr_requests10k",
        "10 000 requests (instructions)",
        "instructions per request of `requests10k_mt`, every thread counted, the lowest of five runs (its two workers steal and park differently from run to run)",
        "tokio",
        false,
    ),
    group(
        "misses_requests10k",
        "10 000 requests (L1 data misses)",
        "first-level data cache misses per request of `requests10k_mt`, in the run whose instructions are counted above, with valgrind's simulated caches (shared by the two workers, since valgrind runs one thread at a time): the memory a contender's polls and reads touch, with 10 000 requests in flight",
        "tokio",
        false,
    ),
    group(
        "instr_awaits20_mt",
        "spawn + 20 awaits, multi-thread (instructions)",
        "instructions per spawned task of `awaits20_mt`, every thread counted, the lowest of five runs (its two workers steal and park differently from run to run)",
        "tokio",
        false,
    ),
];

/// The order contenders are listed in; names not listed come after, in the order first seen.
pub const ORDER: &[&str] = &[
    "thread_local",
    "arc_clone_drop",
    "box_alloc_free",
    "tokio",
    "plain",
    "axum",
    "noop_layer",
    "passthrough",
    "ctxflow",
    "ctxflow_with",
    "ctxflow_noop_hook",
    "ctxflow_runtime",
    "ctxflow_layer",
    "stack_bare",
    "stack_by_hand",
    "stack_ctxflow",
    "stack_automatic",
    "stack_otel",
    "fmt",
    "ctxflow_fields",
    "span_fields",
    "task_local",
    "tracing",
    "opentelemetry",
    "als",
    "hook",
];

/// Whether a group's table also shows each contender's difference to the baseline (for
/// the synchronous groups, whose baseline is a near-empty operation).
pub fn shows_difference(id: &str) -> bool {
    matches!(
        id,
        "poll"
            | "scope_setup"
            | "http_layer"
            | "log_event"
            | "log_event_json"
            | "instr_poll"
            | "instr_scope_setup"
            | "instr_http_layer"
            | "instr_log_event"
            | "instr_log_event_json"
            | "instr_stack"
    )
}

/// The HTTP groups.
pub const HTTP: &[Group] = &[
    group(
        "http_cpu_per_request",
        "HTTP: CPU per request",
        "server CPU time (user+system) per request, axum hello-world handler under wrk on loopback",
        "axum",
        true,
    ),
    group("http_rps", "HTTP: requests/s", "requests per second of the same runs", "axum", false),
    group(
        "stack_cpu_per_request",
        "HTTP service: CPU per request",
        "server CPU time per request of the service users run (a log line before and after, one spawned task that logs, one downstream HTTP call; every request carries a traceparent): no context (`stack_bare`), the same ids by hand with no context library (`stack_by_hand`: parsed from the headers, passed as arguments, logged as each event's fields, written into the outgoing call), ctxflow (`ServerLayer`, log fields, `ctxflow::spawn`, `ClientLayer`), the same with plain `tokio::spawn` on ctxflow's automatic runtime (`stack_automatic`), tracing + OpenTelemetry (`TraceLayer`, tracing-opentelemetry, opentelemetry-http extract and inject)",
        "stack_bare",
        true,
    ),
    group("stack_rps", "HTTP service: requests/s", "requests per second of the same runs", "stack_bare", false),
    group(
        "instr_stack",
        "HTTP service: instructions per request",
        "user-space instructions per request of the same service, counted by valgrind (callgrind) over a bounded wrk run after a warm-up (`scripts/layer-instructions.sh --stack`); the kernel's work for each request, its sockets, is not counted",
        "stack_bare",
        false,
    ),
];
