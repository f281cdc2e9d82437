//! W3C Trace Context and W3C Baggage for ctxflow.
//!
//! placeholder (crate docs written with the layers)

#![warn(missing_docs)]

mod baggage;
mod context;
mod export;
pub mod header;
mod ids;
mod list;
mod log;
mod member;
mod request_id;
mod traceparent;
mod tracestate;

pub use baggage::{Baggage, BaggageError};
pub use context::{BAGGAGE, REQUEST_ID, TRACE, TraceContext};
pub use export::{BaggageCodec, DisplayFromStr, ExportError};
pub use ids::{IdError, SpanId, TraceFlags, TraceId};
pub use member::{Member, Property};
pub use request_id::{RequestId, RequestIdError};
pub use traceparent::{TraceParent, TraceParentError};
pub use tracestate::{TraceState, TraceStateError};

/// Limits of the W3C specs, as enforced by the parsers.
pub mod limits {
    pub use crate::baggage::{MAX_BYTES as BAGGAGE_MAX_BYTES, MAX_MEMBERS as BAGGAGE_MAX_MEMBERS};
    pub use crate::tracestate::{
        MAX_KEY_LEN as TRACESTATE_MAX_KEY_LEN, MAX_MEMBERS as TRACESTATE_MAX_MEMBERS,
        MAX_VALUE_LEN as TRACESTATE_MAX_VALUE_LEN,
    };
}
