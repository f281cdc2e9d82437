//! Declared exports: which context variables cross the wire as baggage, under which key.
//!
//! Nothing crosses by default. Forwarding a variable to other services, or letting another
//! service set one, is a trust decision, so it takes a declaration naming the key and the
//! codec. Incoming members whose key is not declared never reach a variable; they stay in
//! [`BAGGAGE`](crate::BAGGAGE) and are forwarded as they came. The registry is process-wide
//! (declare once at start-up) and read without locking when nothing is declared.

use std::fmt::{self, Display};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use ctxflow::{Binding, ContextVar};

use crate::baggage::Baggage;
use crate::member::{Member, is_token};

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
    /// Another variable is already exported under this key.
    KeyTaken,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::InvalidKey => f.write_str("baggage key is not an HTTP token"),
            ExportError::KeyTaken => f.write_str("another variable is already exported under this baggage key"),
        }
    }
}

impl std::error::Error for ExportError {}

/// One declaration, with the variable's type erased.
trait Exported: Send + Sync {
    fn key(&self) -> &str;
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

    fn bind(&self, text: &str) -> Option<Binding> {
        self.codec.decode(text).map(|v| self.var.value(v))
    }

    fn current(&self) -> Option<String> {
        self.var.get_arc().map(|v| self.codec.encode(&v))
    }
}

static DECLARED: RwLock<Vec<Arc<dyn Exported>>> = RwLock::new(Vec::new());
static ANY_DECLARED: AtomicBool = AtomicBool::new(false);

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
    /// assert!(Baggage::export(&TENANT, "tenant").is_err(), "a key is declared once");
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
        if !is_token(key) {
            return Err(ExportError::InvalidKey);
        }
        let mut declared = DECLARED.write().unwrap_or_else(|e| e.into_inner());
        if declared.iter().any(|e| e.key() == key) {
            return Err(ExportError::KeyTaken);
        }
        declared.push(Arc::new(Export { var, key: key.to_owned(), codec }));
        ANY_DECLARED.store(true, Ordering::Release);
        Ok(())
    }
}

fn with_declared<R>(f: impl FnOnce(&[Arc<dyn Exported>]) -> R) -> Option<R> {
    if !ANY_DECLARED.load(Ordering::Acquire) {
        return None;
    }
    Some(f(&DECLARED.read().unwrap_or_else(|e| e.into_inner())))
}

/// Bindings for the declared variables whose key is in `incoming`; a value the codec refuses
/// is reported and leaves its variable alone.
pub(crate) fn bind_declared(incoming: &Baggage, bindings: &mut Vec<Binding>) {
    if incoming.is_empty() {
        return;
    }
    with_declared(|declared| {
        for export in declared {
            let Some(member) = incoming.member(export.key()) else { continue };
            match export.bind(&member.value()) {
                Some(binding) => bindings.push(binding),
                None => crate::log::dropped(
                    crate::header::BAGGAGE.as_str(),
                    &format_args!("member {:?} could not be decoded into its declared variable", export.key()),
                ),
            }
        }
    });
}

/// The baggage to send from the current context: the incoming list with every declared
/// variable that is set written over its member (placed first, so limits never drop it).
pub(crate) fn outgoing(current: Option<&Baggage>) -> Option<Baggage> {
    let values = with_declared(|declared| {
        declared.iter().filter_map(|e| Some((e.key().to_owned(), e.current()?))).collect::<Vec<_>>()
    })
    .unwrap_or_default();
    if values.is_empty() {
        return current.cloned();
    }
    let mut baggage = current.cloned().unwrap_or_default();
    for (key, value) in values.into_iter().rev() {
        if baggage.get(&key).is_some_and(|v| v == value) {
            continue; // unchanged: forward the received member (and its properties) as is
        }
        let inserted = Member::new(&key, &value).and_then(|m| baggage.insert(m));
        if let Err(e) = inserted {
            crate::log::dropped(crate::header::BAGGAGE.as_str(), &e);
        }
    }
    Some(baggage)
}
