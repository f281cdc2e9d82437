//! `ContextFormat`: tracing-subscriber's own event formats, with the context fields added.
//!
//! Why a `FormatEvent` wrapper and not a `Layer` or a `FormatFields`: a `Layer` cannot add
//! fields to an event that the fmt layer formats (the fmt layer only prints the event's own
//! fields and its spans' fields, and creating spans is what the user must not have to do).
//! A `FormatFields` is used by the text formats for event fields, but the JSON format
//! serializes event fields itself, never through `FormatFields`, and `FormatFields` is also
//! called for span fields, so it cannot tell where to add the fields once. Wrapping the event
//! format is the one place that sees every event exactly once in every output, so the fields
//! land at the end of the text line and as real keys of the JSON object.
//!
//! The wrapper keeps the inner format's output untouched: it lets the inner format write the
//! event into a buffer and inserts the fields before the event's end (see `splice.rs`).

use std::fmt;

use tracing_core::{Event, Subscriber};
use tracing_subscriber::fmt::format::{self, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::context_fields::ContextFields;
use crate::render::{self, Style};
use crate::splice::{self, Tail};

/// An event format of tracing-subscriber (`Full`, `Compact`, `Pretty`, `Json`) that
/// [`ContextFields::wrap`] knows where to add fields to. Sealed.
pub trait Layout: sealed::Sealed {}

mod sealed {
    pub trait Sealed {
        fn style() -> crate::render::Style;
    }
}

macro_rules! layouts {
    ($($(#[$cfg:meta])* $layout:ty => $style:expr),* $(,)?) => {$(
        $(#[$cfg])*
        impl sealed::Sealed for $layout {
            fn style() -> Style {
                $style
            }
        }
        $(#[$cfg])*
        impl Layout for $layout {}
    )*};
}

layouts! {
    format::Full => Style::Line,
    format::Compact => Style::Line,
    format::Pretty => Style::Block,
    #[cfg(feature = "json")]
    format::Json => Style::Json,
}

/// A tracing-subscriber event format that adds the [`ContextFields`] to every event.
/// Made by [`ContextFields::wrap`].
///
/// ANSI colours follow the fmt layer's setting (`with_ansi` on the builder or the layer);
/// a `with_ansi` set on the format itself is superseded by it.
#[derive(Clone, Debug)]
pub struct ContextFormat<L = format::Full, T = tracing_subscriber::fmt::time::SystemTime> {
    plain: Format<L, T>,
    colored: Format<L, T>,
    fields: ContextFields,
}

impl ContextFields {
    /// Wraps one of tracing-subscriber's event formats so that each event it formats carries
    /// these fields: ` name=value` at the end of the line in text formats, a line
    /// `    with name=value` in the pretty format, `"name":"value"` keys of the event's object
    /// in JSON.
    ///
    /// ```
    /// use ctxflow::ContextVar;
    /// use ctxflow_tracing::ContextFields;
    /// use tracing_subscriber::fmt;
    ///
    /// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
    ///
    /// let fields = ContextFields::new().field("request_id", &REQUEST_ID);
    /// // With `fmt().json()` (feature `json`), the same gives `{..., "request_id":"7"}`.
    /// let subscriber = fmt()
    ///     .map_event_format(|format| fields.wrap(format))
    ///     .with_writer(std::io::sink)
    ///     .finish();
    /// tracing::subscriber::with_default(subscriber, || {
    ///     REQUEST_ID.sync_scope(7, || tracing::info!("handled")); // ... INFO ...: handled request_id=7
    /// });
    /// ```
    pub fn wrap<L: Layout + Clone, T: Clone>(&self, format: Format<L, T>) -> ContextFormat<L, T> {
        ContextFormat { plain: format.clone().with_ansi(false), colored: format.with_ansi(true), fields: self.clone() }
    }
}

impl<L, T> ContextFormat<L, T> {
    /// The fields this format adds.
    pub fn fields(&self) -> &ContextFields {
        &self.fields
    }
}

/// An event format of your own that adds the [`ContextFields`] to every event. Made by
/// [`ContextFields::wrap_event_format`].
#[derive(Clone, Debug)]
pub struct WrappedFormat<E> {
    inner: E,
    style: Style,
    fields: ContextFields,
}

impl ContextFields {
    /// Wraps any event format, yours included, so that each event it formats carries these
    /// fields in `style`: the inner format writes the event as it always does, and the fields
    /// go before its end (the line's end for [`Style::Line`], a line of their own for
    /// [`Style::Block`], the closing `}` of the event's object for [`Style::Json`]). ANSI
    /// colours are the inner format's business.
    ///
    /// ```
    /// use std::fmt;
    /// use ctxflow::ContextVar;
    /// use ctxflow_tracing::{ContextFields, Style};
    /// use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, format::Writer};
    /// use tracing_subscriber::registry::LookupSpan;
    ///
    /// /// A house format: `LEVEL message`.
    /// struct House;
    /// impl<S, N> FormatEvent<S, N> for House
    /// where
    ///     S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    ///     N: for<'a> FormatFields<'a> + 'static,
    /// {
    ///     fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, e: &tracing::Event<'_>) -> fmt::Result {
    ///         write!(w, "{} ", e.metadata().level())?;
    ///         ctx.field_format().format_fields(w.by_ref(), e)?;
    ///         writeln!(w)
    ///     }
    /// }
    ///
    /// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
    /// let fields = ContextFields::new().field("request_id", &REQUEST_ID);
    /// let subscriber = tracing_subscriber::fmt()
    ///     .event_format(fields.wrap_event_format(House, Style::Line))
    ///     .with_writer(std::io::sink)
    ///     .finish();
    /// tracing::subscriber::with_default(subscriber, || {
    ///     REQUEST_ID.sync_scope(7, || tracing::info!("handled")); // INFO handled request_id=7
    /// });
    /// ```
    pub fn wrap_event_format<E>(&self, inner: E, style: Style) -> WrappedFormat<E> {
        WrappedFormat { inner, style, fields: self.clone() }
    }
}

impl<S, N, E> FormatEvent<S, N> for WrappedFormat<E>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    E: FormatEvent<S, N>,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let ansi = writer.has_ansi_escapes();
        with_fields(&self.fields, self.style, ansi, writer, event, |w| self.inner.format_event(ctx, w, event))
    }
}

/// Lets `format` write `event` into a buffer, splices the fields in before its end, and writes
/// the line out.
fn with_fields(
    fields: &ContextFields,
    style: Style,
    ansi: bool,
    mut writer: Writer<'_>,
    event: &Event<'_>,
    format: impl FnOnce(Writer<'_>) -> fmt::Result,
) -> fmt::Result {
    if fields.is_empty() {
        return format(writer);
    }
    let tail = if style == Style::Json { Tail::Object } else { Tail::Newlines };
    // The event's own field of a name wins over the context's.
    let taken = |name: &str| event.metadata().fields().field(name).is_some();
    splice::with_buffer(|buf| {
        format(Writer::new(buf))?;
        if let Some(end) = splice::take_end(buf, tail) {
            let object_was_empty = buf.ends_with('{');
            render::write_fields(fields, style, ansi, object_was_empty, &taken, buf)?;
            end.put_back(buf);
        }
        writer.write_str(buf)
    })
}

impl<S, N, L, T> FormatEvent<S, N> for ContextFormat<L, T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    Format<L, T>: FormatEvent<S, N>,
    L: Layout,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let ansi = writer.has_ansi_escapes();
        let inner = if ansi { &self.colored } else { &self.plain };
        with_fields(&self.fields, L::style(), ansi, writer, event, |w| inner.format_event(ctx, w, event))
    }
}
