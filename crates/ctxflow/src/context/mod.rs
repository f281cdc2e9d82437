//! The context layer: values, frames, the thread's current context, variables, scopes and
//! snapshots. It knows nothing of resources, ids, hooks or runtimes, which are built on it.

pub(crate) mod bindings;
pub(crate) mod bound;
pub(crate) mod current;
pub(crate) mod error;
pub(crate) mod forwarding;
pub(crate) mod frame;
pub(crate) mod held;
pub(crate) mod names;
pub(crate) mod owner;
pub(crate) mod scope;
pub(crate) mod snapshot;
pub(crate) mod struct_fields;
pub(crate) mod value;
pub(crate) mod var;
