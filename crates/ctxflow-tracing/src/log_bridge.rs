//! `ContextLog`: the same fields for code that logs through the `log` crate.
//!
//! The fields go into the record's key-values by default: that keeps the message as the
//! library wrote it and lets structured backends (JSON loggers, `env_logger` with its `kv`
//! feature, `tracing-log`) treat them as real fields. Backends that ignore key-values would
//! drop them, so [`Carry::MessagePrefix`] writes them in front of the message instead, and
//! [`Carry::Both`] does both.
//!
//! Values are read lazily, while the inner logger formats the record. That is still inside
//! the `log` call on the logging thread (a `Record` cannot leave it: it borrows its
//! arguments), so it is the context of the code that logged, and nothing is formatted for
//! records the inner logger drops.

use std::fmt::{self, Write as _};

use log::kv::{self, Key, Value, VisitSource};
use log::{Log, Metadata, Record};

use crate::context_fields::ContextFields;
use crate::render::EscapeControl;

/// Where [`ContextLog`] puts the fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Carry {
    /// As key-values of the record (`log`'s `kv` feature), after the record's own.
    #[default]
    KeyValues,
    /// In front of the message: `[request_id=7 tenant=acme] message`.
    MessagePrefix,
    /// Both.
    Both,
}

/// A `log::Log` that adds the [`ContextFields`] to every record and passes it to `inner`.
///
/// ```
/// use ctxflow::ContextVar;
/// use ctxflow_tracing::{Carry, ContextFields, ContextLog};
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
///
/// struct Stdout;
/// impl log::Log for Stdout {
///     fn enabled(&self, _: &log::Metadata) -> bool { true }
///     fn log(&self, record: &log::Record) { println!("{}", record.args()) }
///     fn flush(&self) {}
/// }
///
/// let fields = ContextFields::new().field("request_id", &REQUEST_ID);
/// let logger = ContextLog::new(Stdout, fields).carry(Carry::MessagePrefix);
/// # let _ = logger;
/// // log::set_boxed_logger(Box::new(logger)).unwrap();
/// // log::set_max_level(log::LevelFilter::Info);
/// // REQUEST_ID.sync_scope(7, || log::info!("handled")); // prints "[request_id=7] handled"
/// ```
#[derive(Debug)]
pub struct ContextLog<L> {
    inner: L,
    fields: ContextFields,
    carry: Carry,
}

impl<L: Log> ContextLog<L> {
    /// Wraps `inner`; the fields go into key-values (see [`carry`](Self::carry)).
    pub fn new(inner: L, fields: ContextFields) -> ContextLog<L> {
        ContextLog { inner, fields, carry: Carry::default() }
    }

    /// Chooses where the fields go.
    pub fn carry(self, carry: Carry) -> ContextLog<L> {
        ContextLog { carry, ..self }
    }

    /// The wrapped logger.
    pub fn inner(&self) -> &L {
        &self.inner
    }
}

impl<L: Log> Log for ContextLog<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.inner.enabled(record.metadata()) {
            return;
        }
        let kvs = WithFields { record: record.key_values(), fields: &self.fields };
        let prefix = Prefix(&self.fields);
        let mut builder = record.to_builder();
        if self.carry != Carry::MessagePrefix {
            builder.key_values(&kvs);
        }
        match self.carry {
            Carry::KeyValues => self.inner.log(&builder.build()),
            Carry::MessagePrefix | Carry::Both => {
                self.inner.log(&builder.args(format_args!("{prefix}{}", record.args())).build())
            }
        }
    }

    fn flush(&self) {
        self.inner.flush()
    }
}

/// The record's own key-values followed by the fields present in the current context, except
/// those whose key the record has (its own value wins: no key repeats).
struct WithFields<'a> {
    record: &'a dyn kv::Source,
    fields: &'a ContextFields,
}

impl kv::Source for WithFields<'_> {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn VisitSource<'kvs>) -> Result<(), kv::Error> {
        self.record.visit(visitor)?;
        let own = |name: &str| self.record.get(Key::from_str(name)).is_some();
        for field in self.fields.iter().filter(|f| f.is_present() && !own(f.name())) {
            visitor.visit_pair(Key::from_str(field.name()), Value::from_dyn_display(field))?;
        }
        Ok(())
    }
}

/// `[name=value name=value] `, or nothing when no field is present. Control characters in
/// values are escaped, as in text output.
struct Prefix<'a>(&'a ContextFields);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut open = false;
        self.0.try_for_each_current(|field, value| {
            f.write_str(if open { " " } else { "[" })?;
            open = true;
            write!(f, "{}=", field.name())?;
            write!(EscapeControl(f), "{value}")
        })?;
        if open { f.write_str("] ") } else { Ok(()) }
    }
}
