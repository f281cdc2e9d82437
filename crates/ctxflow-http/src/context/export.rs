//! Declared exports: which context variables cross the wire as baggage, under which key.
//!
//! Nothing crosses by default. Forwarding a variable to other services, or letting another
//! service set one, is a trust decision, so it takes a declaration naming the key and the
//! codec. Incoming members whose key is not declared never reach a variable; they stay in
//! [`BAGGAGE`](crate::BAGGAGE) and are forwarded as they came.
//!
//! The registry is process-wide (declare once at start-up) and append-only, and every request
//! reads it, on every worker: so reading takes no lock and writes no shared memory (a count,
//! then slots below it that were each filled once before the count was raised). A lock would
//! make the workers contend for one cache line on every request.

use std::borrow::Cow;
use std::fmt::{self, Display};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use ctxflow::{Binding, ContextVar};

use crate::wire::baggage::Baggage;
use crate::wire::member::{Member, is_token};

/// Turns a variable's value into a baggage value and back.
///
/// ```
/// use ctxflow_http::BaggageCodec;
/// struct Upper;
/// impl BaggageCodec<String> for Upper {
///     fn encode(&self, v: &String) -> String { v.to_uppercase() }
///     fn decode(&self, text: &str) -> Option<String> { Some(text.to_lowercase()) }
/// }
/// assert_eq!(Upper.decode("ABC"), Some("abc".to_string()));
/// ```
pub trait BaggageCodec<T>: Send + Sync + 'static {
    /// The value as text (percent-encoding is applied afterwards, as needed).
    fn encode(&self, value: &T) -> String;
    /// The value from decoded text; `None` leaves the variable unset.
    fn decode(&self, text: &str) -> Option<T>;
}

/// The codec of [`Baggage::export`]: `Display` out, `FromStr` in.
///
/// ```
/// use ctxflow_http::{BaggageCodec, DisplayFromStr};
/// assert_eq!(BaggageCodec::<u32>::decode(&DisplayFromStr, "42"), Some(42));
/// assert_eq!(BaggageCodec::<u32>::decode(&DisplayFromStr, "x"), None);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DisplayFromStr;

impl<T: Display + FromStr> BaggageCodec<T> for DisplayFromStr {
    fn encode(&self, value: &T) -> String {
        value.to_string()
    }

    fn decode(&self, text: &str) -> Option<T> {
        text.parse().ok()
    }
}

/// Why a declaration was refused.
///
/// ```
/// use ctxflow_http::{Baggage, ExportError};
/// static V: ctxflow::ContextVar<u8> = ctxflow::ContextVar::new("v");
/// assert_eq!(Baggage::export(&V, "no spaces"), Err(ExportError::InvalidKey));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// The key is not an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``).
    InvalidKey,
    /// Another variable is already exported under this key. (The same variable again under
    /// the same key is accepted, and changes nothing.)
    KeyTaken,
    /// 64 variables are already declared (a baggage list carries at most 64 members).
    TooMany,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::InvalidKey => f.write_str("baggage key is not an HTTP token"),
            ExportError::KeyTaken => f.write_str("another variable is already exported under this baggage key"),
            ExportError::TooMany => write!(f, "at most {MAX_DECLARED} variables can be exported"),
        }
    }
}

impl std::error::Error for ExportError {}

/// One declaration, with the variable's type erased.
trait Exported: Send + Sync {
    fn key(&self) -> &str;
    /// The exported variable's address, to recognise a repeated declaration.
    fn var(&self) -> *const ();
    fn bind(&self, text: &str) -> Option<Binding>;
    fn current(&self) -> Option<String>;
}

struct Export<T: Send + Sync + 'static, C> {
    var: &'static ContextVar<T>,
    key: String,
    codec: C,
}

impl<T: Send + Sync + 'static, C: BaggageCodec<T>> Exported for Export<T, C> {
    fn key(&self) -> &str {
        &self.key
    }

    fn var(&self) -> *const () {
        std::ptr::from_ref(self.var).cast()
    }

    fn bind(&self, text: &str) -> Option<Binding> {
        self.codec.decode(text).map(|v| self.var.value(v))
    }

    fn current(&self) -> Option<String> {
        self.var.get_arc().map(|v| self.codec.encode(&v))
    }
}

/// Most declarations: a baggage list carries at most 64 members anyway.
const MAX_DECLARED: usize = crate::wire::member::MAX_MEMBERS;

/// Declarations in order; `SLOTS[..COUNT]` are filled, each before `COUNT` went past it.
static SLOTS: [OnceLock<Box<dyn Exported>>; MAX_DECLARED] = [const { OnceLock::new() }; MAX_DECLARED];
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// Serializes declarations (never taken by requests).
static DECLARING: Mutex<()> = Mutex::new(());

/// Every declaration so far, in declaration order.
fn declared() -> impl DoubleEndedIterator<Item = &'static dyn Exported> {
    SLOTS[..COUNT.load(Ordering::Acquire)].iter().filter_map(|slot| slot.get().map(|e| &**e))
}

impl Baggage {
    /// Declares that `var` crosses the wire as the baggage member `key`, using its `Display`
    /// and `FromStr`: incoming members with this key set `var` for the request, and the
    /// variable's current value goes out with every outgoing call.
    ///
    /// ```
    /// use ctxflow::ContextVar;
    /// use ctxflow_http::Baggage;
    /// static TENANT: ContextVar<String> = ContextVar::new("tenant");
    /// Baggage::export(&TENANT, "tenant").unwrap();
    /// Baggage::export(&TENANT, "tenant").unwrap(); // again, as a test suite building its app twice
    /// static OTHER: ContextVar<String> = ContextVar::new("other");
    /// assert!(Baggage::export(&OTHER, "tenant").is_err(), "a key belongs to one variable");
    /// ```
    pub fn export<T>(var: &'static ContextVar<T>, key: &str) -> Result<(), ExportError>
    where
        T: Display + FromStr + Send + Sync + 'static,
    {
        Self::export_with(var, key, DisplayFromStr)
    }

    /// Declares `var` as the baggage member `key` with a custom codec.
    ///
    /// ```
    /// use ctxflow::ContextVar;
    /// use ctxflow_http::{Baggage, BaggageCodec};
    /// struct Flag;
    /// impl BaggageCodec<bool> for Flag {
    ///     fn encode(&self, v: &bool) -> String { if *v { "1" } else { "0" }.into() }
    ///     fn decode(&self, t: &str) -> Option<bool> { Some(t == "1") }
    /// }
    /// static BETA: ContextVar<bool> = ContextVar::new("beta");
    /// Baggage::export_with(&BETA, "beta", Flag).unwrap();
    /// ```
    pub fn export_with<T, C>(var: &'static ContextVar<T>, key: &str, codec: C) -> Result<(), ExportError>
    where
        T: Send + Sync + 'static,
        C: BaggageCodec<T>,
    {
        if !is_token(key.as_bytes()) {
            return Err(ExportError::InvalidKey);
        }
        let _declaring = DECLARING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(taken) = declared().find(|e| e.key() == key) {
            // The same declaration again (an app built twice, as test suites do) changes
            // nothing; the first declaration's codec stays.
            let same = std::ptr::eq(taken.var(), std::ptr::from_ref(var).cast());
            return if same { Ok(()) } else { Err(ExportError::KeyTaken) };
        }
        let count = COUNT.load(Ordering::Relaxed);
        let slot = SLOTS.get(count).ok_or(ExportError::TooMany)?;
        // Only declarations fill slots, one at a time under the lock, at `COUNT`: this one is empty.
        let _ = slot.set(Box::new(Export { var, key: key.to_owned(), codec }));
        COUNT.store(count + 1, Ordering::Release);
        Ok(())
    }
}

/// Bindings for the declared variables whose key is in `incoming`; a value the codec refuses
/// is reported and leaves its variable alone.
pub(crate) fn bind_declared(incoming: &Baggage) -> Vec<Binding> {
    let mut bindings = Vec::new();
    if incoming.is_empty() {
        return bindings;
    }
    for export in declared() {
        let Some(member) = incoming.member(export.key()) else { continue };
        match export.bind(&member.value()) {
            Some(binding) => bindings.push(binding),
            None => crate::log::dropped(
                crate::header::BAGGAGE.as_str(),
                &format_args!("member {:?} could not be decoded into its declared variable", export.key()),
            ),
        }
    }
    bindings
}

/// Whether any declared variable is set in the current context.
pub(crate) fn any_set() -> bool {
    declared().any(|export| export.current().is_some())
}

/// The baggage to send from the current context: the incoming list with every declared
/// variable that is set written over its member (placed first, in declaration order, so limits
/// never drop it). Borrowed when that changes nothing. A value that cannot be sent (too large
/// for a baggage list, say) removes the variable's member instead of leaving the incoming one
/// to go out in its place: the receiver would otherwise see a value the handler replaced.
pub(crate) fn outgoing(current: Option<&Baggage>) -> Option<Cow<'_, Baggage>> {
    let mut baggage = current.map(Cow::Borrowed);
    // Each insert goes first: the last declared goes in first.
    for export in declared().rev() {
        let Some(value) = export.current() else { continue };
        let key = export.key();
        if baggage.as_ref().and_then(|b| b.get(key)).is_some_and(|v| v == value) {
            continue; // unchanged: forward the received member (and its properties) as is
        }
        let list = baggage.get_or_insert_with(|| Cow::Owned(Baggage::new())).to_mut();
        if let Err(e) = Member::new(key, &value).and_then(|m| list.insert(m)) {
            list.remove(key);
            crate::log::dropped(
                crate::header::BAGGAGE.as_str(),
                &format_args!("declared variable {key:?} not sent: {e}; its incoming member is not sent either"),
            );
        }
    }
    baggage
}
