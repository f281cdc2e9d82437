//! `ContextFieldsProcessor`: the context fields on OpenTelemetry log records.
//!
//! opentelemetry-appender-tracing turns tracing events into OpenTelemetry log records (with the
//! trace context of the span that is current) and hands each to the logger provider's
//! processors, synchronously, on the thread that logged and inside its context. A processor
//! placed before the exporting one can therefore read the fields from the context of the code
//! that logged, exactly as the fmt wrapper does, and add them as attributes.

use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{AnyValue, LogRecord};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

use crate::context_fields::ContextFields;

/// A [`LogProcessor`] for opentelemetry_sdk's logger provider that adds the [`ContextFields`] to
/// every record as string attributes. An attribute the record already has (the event's own
/// field) wins, so no key repeats. Register it before the processor that exports.
///
/// ```
/// use ctxflow::ContextVar;
/// use ctxflow_tracing::{ContextFields, ContextFieldsProcessor};
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
/// let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
///     .with_log_processor(ContextFieldsProcessor::new(ContextFields::new().field("request_id", &REQUEST_ID)))
///     // .with_batch_exporter(exporter)
///     .build();
/// # let _ = provider;
/// ```
#[derive(Debug)]
pub struct ContextFieldsProcessor {
    fields: ContextFields,
}

impl ContextFieldsProcessor {
    /// A processor adding `fields`.
    ///
    /// ```
    /// let p = ctxflow_tracing::ContextFieldsProcessor::new(ctxflow_tracing::ContextFields::new());
    /// # let _ = p;
    /// ```
    pub fn new(fields: ContextFields) -> Self {
        ContextFieldsProcessor { fields }
    }
}

impl LogProcessor for ContextFieldsProcessor {
    fn emit(&self, record: &mut SdkLogRecord, _: &InstrumentationScope) {
        let mut added: Vec<(String, AnyValue)> = Vec::new();
        self.fields.for_each_current(|name, value| {
            let taken = record.attributes_iter().any(|(key, _)| key.as_str() == name);
            if !taken {
                added.push((name.to_owned(), AnyValue::from(value.to_string())));
            }
        });
        for (name, value) in added {
            record.add_attribute(name, value);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}
