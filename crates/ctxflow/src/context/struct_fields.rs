//! `fields!`: several variables bound to the fields of one shared struct.
//!
//! Each bound value is normally an `Arc` of its own: binding three variables allocates three
//! times (plus the frame). An integration that already holds the values together in one struct
//! (an HTTP layer's parsed request headers, say) can put that struct in one `Arc` and bind each
//! variable to one of its fields: one allocation for all of them. The variables read exactly as
//! before; the struct lives as long as any context holds any of its fields.

use std::sync::Arc;

use super::bindings::Binding;
use super::value::Value;
use super::var::ContextVar;

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
///
/// Nor does a field of a packed struct (it may be unaligned, and a read through a reference to
/// it would be undefined behaviour):
///
/// ```compile_fail,E0793
/// use std::sync::Arc;
/// #[repr(C, packed)]
/// struct Packed { tag: u8, id: u64 }
/// static ID: ctxflow::ContextVar<u64> = ctxflow::ContextVar::new("id");
/// let owner = Arc::new(Packed { tag: 1, id: 7 });
/// let _ = ctxflow::fields!(owner, Packed { id => ID });
/// ```
///
/// Nor, from safe code, a field of a union (which field holds a value is not known):
///
/// ```compile_fail,E0133
/// use std::sync::Arc;
/// union Either { flag: bool, text: &'static str }
/// static TEXT: ctxflow::ContextVar<&'static str> = ctxflow::ContextVar::new("text");
/// let owner = Arc::new(Either { flag: true });
/// let _ = ctxflow::fields!(owner, Either { text => TEXT });
/// ```
#[macro_export]
macro_rules! fields {
    ($owner:expr, $owner_type:ty { $($field:ident => $var:expr),+ $(,)? }) => {{
        let owner: &::std::sync::Arc<$owner_type> = &$owner;
        [$(
            $crate::__field_binding(
                owner,
                &$var,
                // The field's exact type: a raw pointer takes part in no deref coercion, so a
                // `Box<T>` field cannot pass for a `T`.
                ::core::ptr::addr_of!((**owner).$field),
                // How to reach the field from the owner: a reference to a field of a packed
                // struct does not compile, and a union's field needs `unsafe`.
                |owner: &$owner_type| &owner.$field,
            )
        ),+]
    }};
}

/// What [`fields!`] expands to, for one field. Not public API.
///
/// `_field` only fixes `T` to the field's exact type; it is never read. `project` reaches the
/// field through the owner; it must capture nothing (checked at compile time).
#[doc(hidden)]
pub fn __field_binding<S, T, P>(owner: &Arc<S>, var: &ContextVar<T>, _field: *const T, project: P) -> Binding
where
    S: Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    P: Fn(&S) -> &T + Send + Sync + 'static,
{
    var.value_of(Value::field(owner, project))
}
