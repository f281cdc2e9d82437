//! `ContextFields`: which context variables become log fields, and under which names.
//!
//! The selection is separate from any output so that one value describes "what a log line of
//! this service carries" and serves every sink alike: the `tracing` formatter, the `log`
//! bridge, and any layer of the user's own (through [`ContextFields::for_each_current`]).
//! Values are read from the current context at the moment they are written, never copied
//! ahead, so a line can only show the context of the code that emitted it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use ctxflow::ContextVar;

/// The context variables to add to every event and log record, with their field names.
///
/// Build it once at start-up and hand it to [`ContextFields::wrap`] (tracing) and
/// `ContextLog` (log). A variable that is unset when an event is emitted is left out, unless
/// [`unset_as`](Self::unset_as) gives a placeholder; a variable with a
/// [default](ContextVar::with_default) shows its default.
///
/// ```
/// use ctxflow::ContextVar;
/// use ctxflow_tracing::ContextFields;
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
/// static TENANT: ContextVar<String> = ContextVar::new("tenant");
///
/// let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
/// let mut seen = Vec::new();
/// REQUEST_ID.sync_scope(7, || fields.for_each_current(|name, value| seen.push(format!("{name}={value}"))));
/// assert_eq!(seen, ["request_id=7"]);
/// ```
#[derive(Clone, Default)]
pub struct ContextFields {
    fields: Vec<Field>,
    unset: Option<Arc<str>>,
}

/// One named field: where its value comes from, and its name pre-escaped for JSON.
#[derive(Clone)]
pub(crate) struct Field {
    name: Cow<'static, str>,
    json_key: Arc<str>,
    source: Arc<dyn Source>,
    unset: Option<Arc<str>>,
}

/// Reads one variable from the current context and shows it.
trait Source: Send + Sync {
    /// Calls `show` with the current value; `None` when the variable is unset.
    fn with_current(&self, show: &mut dyn FnMut(&dyn fmt::Display) -> fmt::Result) -> Option<fmt::Result>;
}

struct Shown<T: Send + Sync + 'static>(&'static ContextVar<T>);

impl<T: fmt::Display + Send + Sync + 'static> Source for Shown<T> {
    fn with_current(&self, show: &mut dyn FnMut(&dyn fmt::Display) -> fmt::Result) -> Option<fmt::Result> {
        self.0.with(|v| v.map(|v| show(v)))
    }
}

struct FormattedWith<T: Send + Sync + 'static, F> {
    var: &'static ContextVar<T>,
    format: F,
}

/// A value displayed through the user's formatter closure.
struct Formatted<'a, T, F>(&'a T, &'a F);

impl<T, F: Fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Formatted<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

impl<T, F> Source for FormattedWith<T, F>
where
    T: Send + Sync + 'static,
    F: Fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result + Send + Sync,
{
    fn with_current(&self, show: &mut dyn FnMut(&dyn fmt::Display) -> fmt::Result) -> Option<fmt::Result> {
        self.var.with(|v| v.map(|v| show(&Formatted(v, &self.format))))
    }
}

/// A value computed when the line is written.
struct Computed<F>(F);

impl<F, D> Source for Computed<F>
where
    F: Fn() -> Option<D> + Send + Sync,
    D: fmt::Display,
{
    fn with_current(&self, show: &mut dyn FnMut(&dyn fmt::Display) -> fmt::Result) -> Option<fmt::Result> {
        (self.0)().map(|value| show(&value))
    }
}

impl ContextFields {
    /// An empty selection: adds nothing until fields are added.
    pub fn new() -> ContextFields {
        ContextFields::default()
    }

    /// Adds `var` under the field name `name`, shown with its `Display` implementation.
    ///
    /// ```
    /// static TENANT: ctxflow::ContextVar<&str> = ctxflow::ContextVar::new("tenant");
    /// let fields = ctxflow_tracing::ContextFields::new().field("tenant", &TENANT);
    /// assert_eq!(fields.names().collect::<Vec<_>>(), ["tenant"]);
    /// ```
    pub fn field<T>(self, name: impl Into<Cow<'static, str>>, var: &'static ContextVar<T>) -> ContextFields
    where
        T: fmt::Display + Send + Sync + 'static,
    {
        self.push(name.into(), Arc::new(Shown(var)))
    }

    /// Adds `var` under the field name `name`, shown by `format` (for types without
    /// `Display`, or to show one part of a larger value).
    ///
    /// ```
    /// use std::fmt::Write;
    /// struct Trace { trace_id: u128, sampled: bool }
    /// static TRACE: ctxflow::ContextVar<Trace> = ctxflow::ContextVar::new("trace");
    ///
    /// let fields = ctxflow_tracing::ContextFields::new()
    ///     .field_with("trace_id", &TRACE, |t, f| write!(f, "{:032x}", t.trace_id));
    /// let mut line = String::new();
    /// TRACE.sync_scope(Trace { trace_id: 0xabc, sampled: true }, || {
    ///     fields.for_each_current(|name, value| write!(line, "{name}={value}").unwrap())
    /// });
    /// assert_eq!(line, "trace_id=00000000000000000000000000000abc");
    /// ```
    pub fn field_with<T, F>(self, name: impl Into<Cow<'static, str>>, var: &'static ContextVar<T>, format: F) -> Self
    where
        T: Send + Sync + 'static,
        F: Fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result + Send + Sync + 'static,
    {
        self.push(name.into(), Arc::new(FormattedWith { var, format }))
    }

    /// Adds a field whose value `read` computes when each line is written (`None`: left out,
    /// as an unset variable is). For values that live outside ctxflow's variables: the process
    /// id, a build's version, a value kept by another library.
    ///
    /// ```
    /// let fields = ctxflow_tracing::ContextFields::new().computed("pid", || Some(std::process::id()));
    /// let mut seen = String::new();
    /// fields.for_each_current(|name, value| seen = format!("{name}={value}"));
    /// assert_eq!(seen, format!("pid={}", std::process::id()));
    /// ```
    pub fn computed<D, F>(self, name: impl Into<Cow<'static, str>>, read: F) -> ContextFields
    where
        D: fmt::Display,
        F: Fn() -> Option<D> + Send + Sync + 'static,
    {
        self.push(name.into(), Arc::new(Computed(read)))
    }

    /// Writes `placeholder` for every variable that is unset, instead of leaving the field out
    /// (applies to all fields, added before or after).
    ///
    /// ```
    /// static USER: ctxflow::ContextVar<String> = ctxflow::ContextVar::new("user");
    /// let fields = ctxflow_tracing::ContextFields::new().field("user", &USER).unset_as("-");
    /// let mut seen = String::new();
    /// fields.for_each_current(|name, value| seen = format!("{name}={value}"));
    /// assert_eq!(seen, "user=-");
    /// ```
    pub fn unset_as(mut self, placeholder: impl Into<Cow<'static, str>>) -> ContextFields {
        let placeholder: Arc<str> = Arc::from(placeholder.into().as_ref());
        for field in &mut self.fields {
            field.unset = Some(placeholder.clone());
        }
        self.unset = Some(placeholder);
        self
    }

    fn push(mut self, name: Cow<'static, str>, source: Arc<dyn Source>) -> ContextFields {
        let json_key = serde_json::to_string(name.as_ref()).unwrap_or_else(|_| String::from("\"\"")) + ":";
        self.fields.push(Field { name, json_key: json_key.into(), source, unset: self.unset.clone() });
        self
    }

    /// The field names, in the order they were added (the order they are written in).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_ref())
    }

    /// Whether no field was added.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Calls `visit` with the name and current value of every field that has one (or the
    /// placeholder of [`unset_as`](Self::unset_as)), in order. This is how a `Layer` of your
    /// own reads the same fields in `on_event`.
    ///
    /// ```
    /// static ID: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("id");
    /// let fields = ctxflow_tracing::ContextFields::new().field("id", &ID);
    /// let mut n = 0;
    /// fields.for_each_current(|_, _| n += 1);
    /// assert_eq!(n, 0);
    /// ID.sync_scope(1, || fields.for_each_current(|_, _| n += 1));
    /// assert_eq!(n, 1);
    /// ```
    pub fn for_each_current(&self, mut visit: impl FnMut(&str, &dyn fmt::Display)) {
        let _ = self.try_for_each_current(|field, value| {
            visit(field.name(), value);
            Ok(())
        });
    }

    /// Like [`for_each_current`](Self::for_each_current), for writers: stops at the first error.
    pub(crate) fn try_for_each_current(
        &self,
        mut visit: impl FnMut(&Field, &dyn fmt::Display) -> fmt::Result,
    ) -> fmt::Result {
        for field in &self.fields {
            field.with_current(&mut |value| visit(field, value)).unwrap_or(Ok(()))?;
        }
        Ok(())
    }

    #[cfg(feature = "log")]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter()
    }
}

impl Field {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The name as a JSON string followed by `:`.
    pub(crate) fn json_key(&self) -> &str {
        &self.json_key
    }

    /// Calls `show` with the current value or the placeholder; `None` when the field is
    /// left out.
    pub(crate) fn with_current(&self, show: &mut dyn FnMut(&dyn fmt::Display) -> fmt::Result) -> Option<fmt::Result> {
        match self.source.with_current(show) {
            Some(result) => Some(result),
            None => self.unset.as_deref().map(|placeholder| show(&placeholder)),
        }
    }

    /// Whether the field is written in the current context.
    #[cfg(feature = "log")]
    pub(crate) fn is_present(&self) -> bool {
        self.unset.is_some() || self.source.with_current(&mut |_| Ok(())).is_some()
    }
}

/// Shows the field's value in the current context at the moment it is formatted (nothing
/// when it is left out).
impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_current(&mut |value| value.fmt(f)).unwrap_or(Ok(()))
    }
}

impl fmt::Debug for ContextFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextFields")
            .field("names", &self.names().collect::<Vec<_>>())
            .field("unset_as", &self.unset)
            .finish()
    }
}
