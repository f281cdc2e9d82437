//! The OpenTelemetry logs bridge (opentelemetry-appender-tracing) with ctxflow: every log record
//! carries the trace context of the span it was logged in (an exported span) and the request's
//! context fields as attributes, with the event's own field winning. 50 concurrent requests on a
//! multi-thread runtime, each logging in its span and in a child spawned through ctxflow.

use std::collections::HashMap;
use std::sync::Arc;

use ctxflow::ContextVar;
use ctxflow_tracing::{ContextFields, ContextFieldsProcessor, SpansFollowSpawns};
use opentelemetry::logs::AnyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

static REQUEST_ID: ContextVar<String> = ContextVar::new("request_id");
static TENANT: ContextVar<String> = ContextVar::new("tenant");

fn text(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => s.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

#[test]
fn log_records_carry_the_spans_ids_and_the_requests_fields() {
    let spans = InMemorySpanExporter::default();
    let tracer_provider = SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
    let logs = InMemoryLogExporter::default();
    let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
    let logger_provider = SdkLoggerProvider::builder()
        .with_log_processor(ContextFieldsProcessor::new(fields))
        .with_simple_exporter(logs.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("logs-test")))
        .with(OpenTelemetryTracingBridge::new(&logger_provider));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let hook = ctxflow::hooks::register(Arc::new(SpansFollowSpawns::default()));

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..50u32 {
            let request = (REQUEST_ID.value(format!("req-{n}")), TENANT.value(format!("tenant-{n}")));
            requests.spawn(ctxflow::scope(request, async move {
                let span = tracing::info_span!("request", n);
                async move {
                    tracing::info!("handled");
                    tracing::info!(tenant = "from-event", "moved");
                    ctxflow::spawn(async { tracing::info!("in a child") }).await.unwrap();
                }
                .instrument(span)
                .await
            }));
        }
        while let Some(r) = requests.join_next().await {
            r.unwrap();
        }
    });
    hook.unregister();
    tracer_provider.force_flush().unwrap();
    logger_provider.force_flush().unwrap();

    // Each exported request span: its span id -> the request number in its `n` attribute.
    let request_of: HashMap<String, String> = spans
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| {
            let n = s.attributes.iter().find(|kv| kv.key.as_str() == "n").map(|kv| kv.value.to_string()).unwrap();
            (s.span_context.span_id().to_string(), n)
        })
        .collect();
    assert_eq!(request_of.len(), 50);
    let records = logs.get_emitted_logs().unwrap();
    assert_eq!(records.len(), 150);
    for log in &records {
        let record = &log.record;
        let trace = record.trace_context().expect("a trace context on every record");
        let n = request_of.get(&trace.span_id.to_string()).expect("the record's span was exported");
        let attrs: Vec<(String, String)> =
            record.attributes_iter().map(|(k, v)| (k.as_str().to_owned(), text(v))).collect();
        let get = |key: &str| {
            let all: Vec<&String> = attrs.iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect();
            assert_eq!(all.len(), 1, "one `{key}` attribute: {attrs:?}");
            all[0].clone()
        };
        assert_eq!(get("request_id"), format!("req-{n}"), "{attrs:?}");
        let body = format!("{:?}", record.body());
        let tenant = if body.contains("moved") { "from-event".to_owned() } else { format!("tenant-{n}") };
        assert_eq!(get("tenant"), tenant, "the event's own field wins: {attrs:?}");
    }
}
