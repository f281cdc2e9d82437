//! `Value`: a variable's value as a frame stores it, an `Arc` with its type erased.
//!
//! A value is either an `Arc` of its own, or a field of a struct that several variables share
//! (`ctxflow::fields!`): then the `Arc` is the struct's, and a projection reaches the field.
//! Both are read back with a checked downcast, so a value can never be read as another type
//! than the one it was made from, whatever the frame's invariants: safety does not rest on them.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

/// A shared value of any `Send + Sync + 'static` type.
pub(crate) type Shared = Arc<dyn Any + Send + Sync>;

/// A value in a frame. `data` first: see [`Value::downcast_ref`].
#[derive(Clone)]
#[repr(C)]
pub(crate) struct Value {
    /// The value's own `Arc`, or the `Arc` of the struct it is a field of.
    data: Shared,
    /// For a field: how to reach it in `data`.
    field: Option<&'static dyn FieldAccess>,
}

/// How to reach one field of an owner struct, type-erased.
pub(crate) trait FieldAccess: Send + Sync {
    /// The field, if `owner` is of the struct type this access was made for.
    fn project<'a>(&self, owner: &'a (dyn Any + Send + Sync)) -> Option<&'a (dyn Any + Send + Sync)>;
    /// A new `Arc` holding a clone of the field (there is no `Arc` of the field itself).
    fn clone_out(&self, owner: &(dyn Any + Send + Sync)) -> Option<Shared>;
}

/// The field of an `S` that the function `P` reaches, a `T`.
pub(crate) struct Projector<S, T, P> {
    project: P,
    _types: PhantomData<fn(&S) -> &T>,
}

impl<S, T, P> FieldAccess for Projector<S, T, P>
where
    S: Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    P: Fn(&S) -> &T + Send + Sync,
{
    fn project<'a>(&self, owner: &'a (dyn Any + Send + Sync)) -> Option<&'a (dyn Any + Send + Sync)> {
        owner.downcast_ref::<S>().map(|s| (self.project)(s) as &(dyn Any + Send + Sync))
    }

    fn clone_out(&self, owner: &(dyn Any + Send + Sync)) -> Option<Shared> {
        owner.downcast_ref::<S>().map(|s| Arc::new((self.project)(s).clone()) as Shared)
    }
}

impl Value {
    /// Moves `value` into a new `Arc`.
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> Value {
        Value::shared(Arc::new(value))
    }

    /// The value whose own `Arc` is `data` (a pending scope keeps only the `Arc`: it is smaller).
    pub(crate) fn shared(data: Shared) -> Value {
        Value { data, field: None }
    }

    /// The field that `project` reaches in `owner`: the value keeps the whole `Arc<S>` alive.
    ///
    /// `project` must be zero-sized (a function item or a closure that captures nothing): it is
    /// given the `'static` lifetime by leaking a box of it, which allocates nothing for a
    /// zero-sized type. A capturing closure is refused at compile time.
    pub(crate) fn field<S, T, P>(owner: &Arc<S>, project: P) -> Value
    where
        S: Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
        P: Fn(&S) -> &T + Send + Sync + 'static,
    {
        const { assert!(size_of::<P>() == 0, "a field projection captures nothing") };
        let access: &'static Projector<S, T, P> = Box::leak(Box::new(Projector { project, _types: PhantomData }));
        Value { data: Arc::clone(owner) as Shared, field: Some(access) }
    }

    /// The value as a `T`, or `None` if it holds another type.
    #[inline]
    pub(crate) fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        // The value's own type first, so that a plain value's read never loads `field`: with
        // `data` next to the key in an entry, a read then touches one cache line of the frame
        // more often. A field's owner is never of the field's type (a struct cannot hold
        // itself), so the order changes no answer.
        match self.data.downcast_ref() {
            Some(value) => Some(value),
            None => self.projected(),
        }
    }

    #[cold]
    #[inline(never)]
    fn projected<T: 'static>(&self) -> Option<&T> {
        self.field?.project(&*self.data)?.downcast_ref()
    }

    /// The value as an `Arc<T>`: its own `Arc` (one count more), or for a field a new `Arc`
    /// holding a clone of it. `None` if it holds another type.
    pub(crate) fn to_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let shared = match self.field {
            None => Arc::clone(&self.data),
            Some(access) => access.clone_out(&*self.data)?,
        };
        shared.downcast().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_and_drops_release() {
        let v = Value::new(String::from("v"));
        let b = v.clone();
        assert_eq!(b.downcast_ref::<String>().map(String::as_str), Some("v"));
        assert!(b.downcast_ref::<u32>().is_none());
        let arc = v.to_arc::<String>().unwrap();
        assert_eq!(Arc::strong_count(&arc), 3, "the value's own Arc, shared");
        assert!(v.to_arc::<u32>().is_none());
        drop((v, b));
        assert_eq!(Arc::strong_count(&arc), 1);
    }

    #[test]
    fn fields_share_their_owner_and_are_checked() {
        struct Pair {
            name: String,
        }
        let owner = Arc::new(Pair { name: "x".into() });
        let v = Value::field(&owner, |p: &Pair| &p.name);
        assert_eq!(Arc::strong_count(&owner), 2);
        assert_eq!(v.downcast_ref::<String>().map(String::as_str), Some("x"));
        assert!(v.downcast_ref::<u64>().is_none());
        let copy = v.to_arc::<String>().unwrap();
        assert_eq!((copy.as_str(), Arc::strong_count(&copy)), ("x", 1));
        drop(v);
        assert_eq!(Arc::strong_count(&owner), 1);
    }

    #[test]
    fn a_value_is_four_words() {
        assert_eq!(size_of::<Value>(), 4 * size_of::<usize>());
    }
}
