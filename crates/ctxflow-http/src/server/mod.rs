//! The server half: a tower layer that runs each request inside its own context.
//!
//! The context is built from the request's headers and bound in one frame, and both the
//! inner service's `call` and the future it returns run inside it. Binding per request (not
//! per connection) is what keeps keep-alive connections clean: the connection task itself
//! never holds a request's values, so request N+1 on the same connection starts from nothing
//! of request N. Anything the handler spawns through ctxflow inherits the context.

mod body;
mod future;
mod layer;
mod service;

pub use self::body::ScopedBody;
pub use self::future::ResponseFuture;
pub use self::layer::ServerLayer;
pub use self::service::ServerService;
