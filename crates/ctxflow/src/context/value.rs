//! `Value`: a variable's value as a frame stores it, an `Arc` with its type erased.
//!
//! A value is either an `Arc` of its own, or a field of a struct that several variables share
//! (`ctxflow::fields!`), reached through a projection function the macro generates. Both are
//! read back with a checked downcast, so a value can never be read as another type than the
//! one it was made from, whatever the frame's invariants: safety does not rest on them.

use std::any::Any;
use std::sync::Arc;

/// A shared value of any `Send + Sync + 'static` type.
pub(crate) type Shared = Arc<dyn Any + Send + Sync>;

/// The field of an owner, given the owner; `None` if it is not of the owner type the
/// projection was made for.
pub(crate) type Projection = fn(&(dyn Any + Send + Sync)) -> Option<&(dyn Any + Send + Sync)>;

/// A new `Arc` holding a clone of a field (there is no `Arc` of the field itself).
pub(crate) type CloneField = fn(&(dyn Any + Send + Sync)) -> Option<Shared>;

/// A value in a frame.
#[derive(Clone)]
pub(crate) enum Value {
    /// A value in its own `Arc`.
    Own(Shared),
    /// A field of `owner`, which several variables may share (one allocation for all).
    Field { owner: Shared, project: Projection, clone: CloneField },
}

impl Value {
    /// Moves `value` into a new `Arc`.
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> Value {
        Value::Own(Arc::new(value))
    }

    /// The value as a `T`, or `None` if it holds another type.
    #[inline]
    pub(crate) fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        match self {
            Value::Own(arc) => arc.downcast_ref(),
            Value::Field { owner, project, .. } => project(&**owner)?.downcast_ref(),
        }
    }

    /// The value as an `Arc<T>`: its own `Arc` (one count more), or for a field a new `Arc`
    /// holding a clone of it. `None` if it holds another type.
    pub(crate) fn to_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let shared = match self {
            Value::Own(arc) => Arc::clone(arc),
            Value::Field { owner, project, clone } => clone(project(&**owner)?)?,
        };
        shared.downcast().ok()
    }
}

/// The [`CloneField`] of fields of type `T`.
pub(crate) fn clone_field<T: Clone + Send + Sync + 'static>(field: &(dyn Any + Send + Sync)) -> Option<Shared> {
    field.downcast_ref::<T>().map(|v| Arc::new(v.clone()) as Shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_and_drops_release() {
        let arc = Arc::new(String::from("v"));
        let a = Value::Own(arc.clone());
        let b = a.clone();
        assert_eq!(Arc::strong_count(&arc), 3);
        assert_eq!(b.downcast_ref::<String>().map(String::as_str), Some("v"));
        assert!(b.downcast_ref::<u32>().is_none());
        let back = a.to_arc::<String>().unwrap();
        assert!(Arc::ptr_eq(&back, &arc));
        assert!(a.to_arc::<u32>().is_none());
        drop((a, b, back));
        assert_eq!(Arc::strong_count(&arc), 1);
    }

    #[test]
    fn fields_share_their_owner_and_are_checked() {
        struct Pair {
            name: String,
        }
        let owner = Arc::new(Pair { name: "x".into() });
        let project: Projection = |o| o.downcast_ref::<Pair>().map(|p| &p.name as &(dyn Any + Send + Sync));
        let v = Value::Field { owner: owner.clone(), project, clone: clone_field::<String> };
        assert_eq!(Arc::strong_count(&owner), 2);
        assert_eq!(v.downcast_ref::<String>().map(String::as_str), Some("x"));
        assert!(v.downcast_ref::<u64>().is_none());
        let copy = v.to_arc::<String>().unwrap();
        assert_eq!((copy.as_str(), Arc::strong_count(&copy)), ("x", 1));
        // A projection handed the wrong owner type finds nothing rather than misreading it.
        let wrong = Value::Field { owner: Arc::new(7u8), project, clone: clone_field::<String> };
        assert!(wrong.downcast_ref::<String>().is_none());
        assert!(wrong.to_arc::<String>().is_none());
    }
}
