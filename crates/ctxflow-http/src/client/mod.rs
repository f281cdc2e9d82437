//! The client half: a tower layer that writes the current context into outgoing requests.
//!
//! It is a thin wrapper over [`inject`](crate::inject) so that any tower-based client (hyper's
//! legacy client, a `tower::ServiceBuilder` stack) propagates context without the call sites
//! doing anything; clients that are not tower services call `inject` themselves, and
//! `reqwest-middleware` clients take `ContextMiddleware` (feature
//! `reqwest`).

mod layer;
#[cfg(feature = "reqwest")]
pub(crate) mod middleware;
mod service;

pub use self::layer::ClientLayer;
pub use self::service::ClientService;
