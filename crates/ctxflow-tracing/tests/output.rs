//! What the fields look like in each output of tracing-subscriber's fmt layer: where they go,
//! how values are escaped, unset variables, ANSI, and that JSON output stays valid JSON.

mod support;

use ctxflow::{ContextVar, Snapshot};
use ctxflow_tracing::ContextFields;
use support::{Capture, str_of};
use tracing::info;
use tracing_subscriber::fmt;

static REQUEST_ID: ContextVar<String> = ContextVar::new("request_id");
static TENANT: ContextVar<&str> = ContextVar::new("tenant");
static REGION: ContextVar<&str> = ContextVar::new("region").with_default(|| "eu");

fn fields() -> ContextFields {
    ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT)
}

fn in_request<R>(id: &str, tenant: &'static str, f: impl FnOnce() -> R) -> R {
    ctxflow::sync_scope((REQUEST_ID.value(id.to_string()), TENANT.value(tenant)), f)
}

/// Text output (no ANSI, no time) of `body`, with `fields`.
fn text(fields: &ContextFields, body: impl FnOnce()) -> String {
    let out = Capture::default();
    let subscriber =
        fmt().with_ansi(false).without_time().map_event_format(|f| fields.wrap(f)).with_writer(out.clone()).finish();
    tracing::subscriber::with_default(subscriber, body);
    out.text()
}

/// JSON output of `body`, with `fields`, one object per line.
fn json(fields: &ContextFields, body: impl FnOnce()) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let out = Capture::default();
    let subscriber = fmt().json().map_event_format(|f| fields.wrap(f)).with_writer(out.clone()).finish();
    tracing::subscriber::with_default(subscriber, body);
    out.json_lines()
}

#[test]
fn full_text_ends_each_line_with_the_fields_in_order() {
    let out = text(&fields(), || in_request("r-1", "acme", || info!(n = 3, "handled")));
    assert_eq!(out, " INFO output: handled n=3 request_id=r-1 tenant=acme\n");
}

#[test]
fn compact_text_carries_the_fields() {
    let out = Capture::default();
    let fields = fields();
    let subscriber = fmt()
        .compact()
        .with_ansi(false)
        .without_time()
        .map_event_format(|f| fields.wrap(f))
        .with_writer(out.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || in_request("r-2", "acme", || info!("handled")));
    assert_eq!(out.text(), " INFO output: handled request_id=r-2 tenant=acme\n");
}

#[test]
fn pretty_text_puts_the_fields_on_a_line_of_their_own() {
    let out = Capture::default();
    let fields = fields();
    let subscriber = fmt()
        .pretty()
        .with_ansi(false)
        .without_time()
        .map_event_format(|f| fields.wrap(f))
        .with_writer(out.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || in_request("r-3", "acme", || info!("handled")));
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    // "  INFO output: handled", "    at <file>:<line>", "    with ...", "" (pretty ends events with a blank line)
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].ends_with("handled") && lines[1].starts_with("    at "), "{text}");
    assert_eq!(lines[2], "    with request_id=r-3 tenant=acme", "{text}");
    assert_eq!(lines[3], "", "{text}");
}

#[test]
fn json_output_has_the_fields_as_top_level_string_keys() {
    let lines = json(&fields(), || {
        in_request("r-4", "acme", || {
            let span = tracing::info_span!("request", path = "/x");
            span.in_scope(|| info!(n = 1, "handled"));
        })
    });
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(str_of(line, "request_id"), Some("r-4"));
    assert_eq!(str_of(line, "tenant"), Some("acme"));
    assert_eq!(line["fields"]["message"], "handled");
    assert_eq!(line["fields"]["n"], 1);
    assert_eq!(line["span"]["path"], "/x");
    assert_eq!(str_of(line, "level"), Some("INFO"));
}

#[test]
fn json_values_are_escaped_not_broken() {
    let nasty = "q\"uote\\back\nnew}line{\u{1b}[31m€";
    let lines = json(&fields(), || in_request(nasty, "a\"b", || info!("x")));
    assert_eq!(str_of(&lines[0], "request_id"), Some(nasty));
    assert_eq!(str_of(&lines[0], "tenant"), Some("a\"b"));
}

#[test]
fn flattened_json_gets_the_fields_next_to_the_event_fields() {
    let out = Capture::default();
    let fields = fields();
    let subscriber = fmt()
        .json()
        .flatten_event(true)
        .without_time()
        .with_level(false)
        .with_target(false)
        .map_event_format(|f| fields.wrap(f))
        .with_writer(out.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || in_request("r-5", "acme", || info!(n = 2)));
    assert_eq!(out.text(), "{\"n\":2,\"request_id\":\"r-5\",\"tenant\":\"acme\"}\n");
}

#[test]
fn text_values_cannot_forge_lines_or_escape_codes() {
    let out = text(&fields(), || in_request("a\nFAKE LINE \u{1b}[2J", "acme", || info!("x")));
    assert_eq!(out.lines().count(), 1, "{out:?}");
    assert!(out.contains("request_id=a\\nFAKE LINE \\u{1b}[2J tenant=acme"), "{out:?}");
}

#[test]
fn unset_variables_are_left_out() {
    let fields = fields();
    let out = text(&fields, || TENANT.sync_scope("acme", || info!("x")));
    assert_eq!(out, " INFO output: x tenant=acme\n");
    let out = text(&fields, || info!("x"));
    assert_eq!(out, " INFO output: x\n");
    let lines = json(&fields, || TENANT.sync_scope("acme", || info!("x")));
    assert!(!lines[0].contains_key("request_id"));
    assert_eq!(str_of(&lines[0], "tenant"), Some("acme"));
}

#[test]
fn unset_variables_can_be_written_as_a_placeholder() {
    let fields = fields().unset_as("-");
    assert_eq!(text(&fields, || info!("x")), " INFO output: x request_id=- tenant=-\n");
    let lines = json(&fields, || TENANT.sync_scope("acme", || info!("x")));
    assert_eq!(str_of(&lines[0], "request_id"), Some("-"));
    assert_eq!(str_of(&lines[0], "tenant"), Some("acme"));
}

#[test]
fn a_context_without_the_request_shows_nothing_of_it() {
    let out = text(&fields(), || in_request("r-6", "acme", || Snapshot::empty().sync_run(|| info!("x"))));
    assert_eq!(out, " INFO output: x\n");
}

#[test]
fn inner_scopes_override_and_restore() {
    let out = text(&fields(), || {
        in_request("r-7", "acme", || {
            TENANT.sync_scope("globex", || info!("inner"));
            info!("outer");
        })
    });
    assert_eq!(
        out,
        " INFO output: inner request_id=r-7 tenant=globex\n INFO output: outer request_id=r-7 tenant=acme\n"
    );
}

#[test]
fn defaults_show_and_formatter_closures_format() {
    let fields = ContextFields::new()
        .field("region", &REGION)
        .field_with("request", &REQUEST_ID, |id, f| write!(f, "<{}>", id.to_uppercase()));
    let out = text(&fields, || REQUEST_ID.sync_scope("r-8".into(), || info!("x")));
    assert_eq!(out, " INFO output: x region=eu request=<R-8>\n");
}

#[test]
fn ansi_output_styles_the_names_and_keeps_the_values() {
    let out = Capture::default();
    let fields = fields();
    let subscriber =
        fmt().with_ansi(true).without_time().map_event_format(|f| fields.wrap(f)).with_writer(out.clone()).finish();
    tracing::subscriber::with_default(subscriber, || in_request("r-9", "acme", || info!("x")));
    let text = out.text();
    assert!(text.contains("\u{1b}[32m INFO"), "level still coloured: {text:?}");
    assert!(text.contains("\u{1b}[3mrequest_id\u{1b}[0m\u{1b}[2m=\u{1b}[0mr-9"), "{text:?}");
}

#[test]
fn no_fields_means_the_inner_format_unchanged() {
    let with = text(&ContextFields::new(), || in_request("r-10", "acme", || info!(n = 1, "x")));
    let out = Capture::default();
    let subscriber = fmt().with_ansi(false).without_time().with_writer(out.clone()).finish();
    tracing::subscriber::with_default(subscriber, || info!(n = 1, "x"));
    assert_eq!(with, out.text());
}

/// How many times `key` appears as a key in one line of raw JSON.
fn key_count(line: &str, key: &str) -> usize {
    line.matches(&format!("\"{key}\":")).count()
}

#[test]
fn an_event_field_of_the_same_name_wins_and_no_key_repeats() {
    let out = Capture::default();
    let fields = fields();
    let subscriber = fmt()
        .json()
        .flatten_event(true)
        .without_time()
        .map_event_format(|f| fields.wrap(f))
        .with_writer(out.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        in_request("r-6", "acme", || info!(tenant = "from-event", "moved"))
    });
    let line = out.text();
    assert_eq!(key_count(&line, "tenant"), 1, "{line}");
    assert!(line.contains("\"tenant\":\"from-event\"") && line.contains("\"request_id\":\"r-6\""), "{line}");

    let text = text(&fields, || in_request("r-6", "acme", || info!(tenant = "from-event", "moved")));
    assert_eq!(text, " INFO output: moved tenant=\"from-event\" request_id=r-6\n");
}

#[test]
fn a_context_field_named_like_a_key_of_the_json_format_is_left_out_of_json_only() {
    static LEVEL: ContextVar<&str> = ContextVar::new("level");
    let fields = ContextFields::new().field("level", &LEVEL).field("request_id", &REQUEST_ID);
    let out = Capture::default();
    let subscriber = fmt().json().without_time().map_event_format(|f| fields.wrap(f)).with_writer(out.clone()).finish();
    let body = || ctxflow::sync_scope((LEVEL.value("gold"), REQUEST_ID.value("r-7".into())), || info!("tiered"));
    tracing::subscriber::with_default(subscriber, body);
    let line = out.text();
    assert_eq!((key_count(&line, "level"), key_count(&line, "request_id")), (1, 1), "{line}");
    assert!(line.contains("\"level\":\"INFO\""), "{line}");
    assert!(text(&fields, body).ends_with("tiered level=gold request_id=r-7\n"));
}

/// A format of an application's own: `LEVEL message fields`, or a JSON object of its own.
struct House {
    json: bool,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for House
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        e: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        if self.json {
            return writeln!(w, "{{\"severity\":\"{}\"}}", e.metadata().level());
        }
        write!(w, "{} ", e.metadata().level())?;
        ctx.field_format().format_fields(w.by_ref(), e)?;
        writeln!(w)
    }
}

#[test]
fn a_custom_event_format_gets_the_fields_too() {
    use ctxflow_tracing::Style;
    for (json, style, expected) in [
        (false, Style::Line, "INFO handled request_id=r-8 tenant=acme\n"),
        (true, Style::Json, "{\"severity\":\"INFO\",\"request_id\":\"r-8\",\"tenant\":\"acme\"}\n"),
    ] {
        let out = Capture::default();
        let subscriber = fmt()
            .with_ansi(false)
            .event_format(fields().wrap_event_format(House { json }, style))
            .with_writer(out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || in_request("r-8", "acme", || info!("handled")));
        assert_eq!(out.text(), expected);
    }
}
