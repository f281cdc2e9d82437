//! `fields!`: several variables bound to the fields of one shared struct.
//!
//! Each bound value is normally an `Arc` of its own: binding three variables allocates three
//! times (plus the frame). An integration that already holds the values together in one struct
//! (an HTTP layer's parsed request headers, say) can put that struct in one `Arc` and bind each
//! variable to one of its fields: one allocation for all of them. The variables read exactly as
//! before; the struct lives as long as any context holds any of its fields.

use std::sync::Arc;

use crate::frame::{Change, Value};
use crate::{Binding, ContextVar};

/// Binds variables to fields of one `Arc`'d struct: one allocation for all of them.
///
/// `fields!(owner, Type { field => VARIABLE, .. })` evaluates to an array of [`Binding`]s (an
/// [`IntoBindings`](crate::IntoBindings)); `owner` is an `Arc<Type>`, and each field must have
/// its variable's type (checked at compile time) and be `Clone`. The struct stays alive as long
/// as any context holds any of its fields. [`ContextVar::get_arc`] of such a variable returns a
/// new `Arc` holding a clone of the field (there is no `Arc` of the field itself to share).
///
/// ```
/// use std::sync::Arc;
/// use ctxflow::ContextVar;
///
/// struct Request { id: u64, tenant: String }
/// static ID: ContextVar<u64> = ContextVar::new("id");
/// static TENANT: ContextVar<String> = ContextVar::new("tenant");
///
/// let request = Arc::new(Request { id: 7, tenant: "acme".into() });
/// let seen = ctxflow::sync_scope(
///     ctxflow::fields!(request, Request { id => ID, tenant => TENANT }),
///     || (ID.get(), TENANT.get()),
/// );
/// assert_eq!(seen, (Some(7), Some("acme".to_string())));
/// ```
///
/// A field of another type does not compile, even one that would deref to the variable's:
///
/// ```compile_fail
/// use std::sync::Arc;
/// struct Request { id: Box<u64> }
/// static ID: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("id");
/// let request = Arc::new(Request { id: Box::new(7) });
/// let _ = ctxflow::fields!(request, Request { id => ID });
/// ```
#[macro_export]
macro_rules! fields {
    ($owner:expr, $owner_type:ty { $($field:ident => $var:expr),+ $(,)? }) => {{
        let owner: &::std::sync::Arc<$owner_type> = &$owner;
        [$({
            // A raw pointer, so that no deref coercion can make a `Box<T>` field pass for a `T`.
            let field = ::core::ptr::addr_of!((**owner).$field);
            // SAFETY: `offset_of!` gives where `$field` is in the struct, and `field`'s type
            // checks that it has the variable's type.
            unsafe {
                $crate::__field_binding::<$owner_type, _, { ::core::mem::offset_of!($owner_type, $field) }>(
                    owner, &$var, field,
                )
            }
        }),+]
    }};
}

/// What [`fields!`] expands to, for one field. Not public API.
///
/// # Safety
/// `field` points to a field of `owner`'s `S` that is at byte `OFFSET` and has type `T`.
#[doc(hidden)]
pub unsafe fn __field_binding<S, T, const OFFSET: usize>(
    owner: &Arc<S>,
    var: &ContextVar<T>,
    field: *const T,
) -> Binding
where
    S: Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    debug_assert_eq!(field as usize - Arc::as_ptr(owner) as usize, OFFSET, "`fields!`: field offset");
    // SAFETY: the caller's contract.
    let value = unsafe { Value::from_field::<S, T, OFFSET>(owner) };
    Binding(Change { key: var.key(), value: Some(value) })
}
