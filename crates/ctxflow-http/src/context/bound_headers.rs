//! Other request headers bound to context variables (`x-tenant-id` → `TENANT`).
//!
//! A header is untrusted input that ends up in logs, queries and outgoing calls, so a value is
//! bound only when it passes every check: one field, 1 to `max_len` bytes, visible ASCII
//! (spaces and tabs allowed between the ends: `HeaderValue::to_str`'s rule), and the variable
//! type's own `FromStr`. A value that fails is not bound: the variable is unset for the
//! request, the refusal is logged at debug level, and it is listed in the request's
//! [`RejectedHeaders`] extension, so a handler that requires the header can answer 400 with
//! the reason. An absent header also leaves the variable unset, so a value of the context the
//! server runs in never passes for the caller's.

use std::fmt::{self, Display};
use std::str::FromStr;
use std::sync::Arc;

use ctxflow::{Binding, ContextVar};
use http::{HeaderMap, HeaderName};

use crate::log::dropped;

/// The longest bound header value accepted unless the layer says otherwise, in bytes.
///
/// ```
/// assert_eq!(ctxflow_http::limits::BOUND_HEADER_MAX_LEN, 256);
/// ```
pub const DEFAULT_MAX_LEN: usize = 256;

/// Why a bound header's value was not bound.
///
/// ```
/// use ctxflow_http::BoundHeaderError;
/// let e = BoundHeaderError::TooLong { len: 300, max: 256 };
/// assert_eq!(e.to_string(), "value of 300 bytes is over the limit of 256");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BoundHeaderError {
    /// The header came more than once.
    Duplicate,
    /// The value is empty.
    Empty,
    /// The value is longer than the layer's limit.
    TooLong {
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value holds bytes other than visible ASCII, spaces and tabs.
    NotText,
    /// The variable's type refused the text; its parse error's message.
    Parse(String),
}

impl Display for BoundHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundHeaderError::Duplicate => f.write_str("the header came more than once"),
            BoundHeaderError::Empty => f.write_str("empty value"),
            BoundHeaderError::TooLong { len, max } => write!(f, "value of {len} bytes is over the limit of {max}"),
            BoundHeaderError::NotText => f.write_str("value holds bytes other than visible ASCII"),
            BoundHeaderError::Parse(message) => write!(f, "value refused by its type: {message}"),
        }
    }
}

impl std::error::Error for BoundHeaderError {}

/// The bound headers of one request that were refused, with why: a request extension that
/// [`ServerLayer`](crate::ServerLayer) inserts only when at least one was.
///
/// ```
/// use ctxflow::ContextVar;
/// use ctxflow_http::{BoundHeaderError, RejectedHeaders, ServerLayer};
/// use http::HeaderName;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// static TENANT: ContextVar<String> = ContextVar::new("tenant");
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let layer = ServerLayer::new().bind_header(HeaderName::from_static("x-tenant-id"), &TENANT);
/// let svc = layer.layer(service_fn(|req: http::Request<()>| async move {
///     let rejected = req.extensions().get::<RejectedHeaders>().cloned();
///     Ok::<_, std::convert::Infallible>(http::Response::new((TENANT.get(), rejected)))
/// }));
/// let req = http::Request::builder().header("x-tenant-id", "").body(()).unwrap();
/// let (tenant, rejected) = svc.oneshot(req).await.unwrap().into_body().into_inner();
/// assert_eq!(tenant, None);
/// assert_eq!(rejected.unwrap().get("x-tenant-id"), Some(&BoundHeaderError::Empty));
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectedHeaders(Vec<(HeaderName, BoundHeaderError)>);

impl RejectedHeaders {
    /// Why `name` was refused, if it was.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::RejectedHeaders::default().get("x-tenant-id"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&BoundHeaderError> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }

    /// Every refused header with its reason, in the order the layer binds them.
    ///
    /// ```
    /// assert_eq!(ctxflow_http::RejectedHeaders::default().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &BoundHeaderError)> {
        self.0.iter().map(|(n, e)| (n, e))
    }
}

/// Makes the binding of one header from its checked text, or the variable's unset binding for
/// `None`.
type Bind = dyn Fn(Option<&str>) -> Result<Binding, String> + Send + Sync;

#[derive(Clone)]
struct Rule {
    name: HeaderName,
    bind: Arc<Bind>,
}

/// The headers a server layer binds, and the length limit their values share.
#[derive(Clone)]
pub(crate) struct BoundHeaders {
    rules: Vec<Rule>,
    max_len: usize,
}

impl Default for BoundHeaders {
    fn default() -> Self {
        BoundHeaders { rules: Vec::new(), max_len: DEFAULT_MAX_LEN }
    }
}

impl fmt::Debug for BoundHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        f.debug_struct("BoundHeaders").field("names", &names).field("max_len", &self.max_len).finish()
    }
}

impl BoundHeaders {
    /// Binds `name` to `var` from now on, in place of any earlier rule for `name`.
    pub(crate) fn add<T>(&mut self, name: HeaderName, var: &'static ContextVar<T>)
    where
        T: FromStr + Send + Sync + 'static,
        T::Err: Display,
    {
        let bind = move |text: Option<&str>| match text {
            Some(text) => text.parse::<T>().map(|value| var.value(value)).map_err(|e| e.to_string()),
            None => Ok(var.unset()),
        };
        self.rules.retain(|rule| rule.name != name);
        self.rules.push(Rule { name, bind: Arc::new(bind) });
    }

    pub(crate) fn set_max_len(&mut self, max_len: usize) {
        self.max_len = max_len;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The bindings for `headers`, and the refusals (empty when none).
    pub(crate) fn bind(&self, headers: &HeaderMap) -> (Vec<Binding>, RejectedHeaders) {
        let mut bindings = Vec::with_capacity(self.rules.len());
        let mut rejected = RejectedHeaders::default();
        for rule in &self.rules {
            let bound =
                self.checked(headers, &rule.name).and_then(|text| (rule.bind)(text).map_err(BoundHeaderError::Parse));
            match bound {
                Ok(binding) => bindings.push(binding),
                Err(error) => {
                    dropped(rule.name.as_str(), &error);
                    // Unset, as for an absent header; `bind(None)` cannot fail.
                    bindings.extend((rule.bind)(None).ok());
                    rejected.0.push((rule.name.clone(), error));
                }
            }
        }
        (bindings, rejected)
    }

    /// The text of `name`'s one field, `None` when absent.
    fn checked<'h>(&self, headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, BoundHeaderError> {
        let mut fields = headers.get_all(name).iter();
        let Some(value) = fields.next() else { return Ok(None) };
        if fields.next().is_some() {
            return Err(BoundHeaderError::Duplicate);
        }
        let len = value.len();
        if len == 0 {
            return Err(BoundHeaderError::Empty);
        }
        if len > self.max_len {
            return Err(BoundHeaderError::TooLong { len, max: self.max_len });
        }
        value.to_str().map(Some).map_err(|_| BoundHeaderError::NotText)
    }
}
