//! `Value`: a variable's value as a frame stores it, an `Arc<T>` with its type erased.
//!
//! Why not `Arc<dyn Any + Send + Sync>`: reading through a `dyn` pointer computes where the
//! data starts from the alignment stored in the vtable, on every read (7 of a read's ~45
//! instructions), and the fat pointer made entries 24 bytes before any cached data pointer
//! (32 with one, which turned every move of a frame's inline array into a `memcpy` call).
//! A `Value` is the thin pointer `Arc::into_raw` gives, which points at the `T` itself, plus a
//! static table of the three things that need the type back: clone, drop and `TypeId`.
//! Reading is then a plain dereference; cloning and dropping (when frames are built and
//! freed, not when they are read) go through one indirect call. The same table lets a value be
//! a field of a struct that several variables share (`Value::from_field`): its clone and drop
//! count the struct's `Arc`, so binding several variables costs one allocation.
//!
//! The type is recovered without a check by [`Value::get`] and [`Value::to_arc`], whose callers
//! (`ContextVar<T>`) own the only key under which a `Value` of their `T` is stored.

use std::any::TypeId;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

/// A shared, type-erased `Arc<T>` with `T: Send + Sync + 'static`.
pub(crate) struct Value {
    /// Where the `T` is: `Arc::into_raw` of the `Arc<T>` this value owns one strong count of,
    /// or a field of an `Arc<S>` it owns one count of (`from_field`). Only `vtable` knows which.
    data: NonNull<()>,
    vtable: &'static VTable,
}

struct VTable {
    /// Adds one strong count to the `Arc<T>` whose `into_raw` pointer is given.
    clone: unsafe fn(NonNull<()>),
    /// Gives back one strong count of that `Arc<T>`.
    drop: unsafe fn(NonNull<()>),
    /// `Arc::into_raw` of an `Arc<T>` holding the value, with one count for the caller: the
    /// same `Arc` for a value made by `from_arc`, a new one holding a clone for a field.
    to_arc: unsafe fn(NonNull<()>) -> NonNull<()>,
    type_id: fn() -> TypeId,
}

struct TableOf<T>(PhantomData<T>);

impl<T: Send + Sync + 'static> TableOf<T> {
    const TABLE: VTable =
        VTable { clone: clone_arc::<T>, drop: drop_arc::<T>, to_arc: share_arc::<T>, type_id: TypeId::of::<T> };
}

/// The table of a value that is the field at byte `OFFSET` of an `Arc<S>` (`Value::from_field`).
struct FieldTable<S, T, const OFFSET: usize>(PhantomData<(S, T)>);

impl<S: Send + Sync + 'static, T: Clone + Send + Sync + 'static, const OFFSET: usize> FieldTable<S, T, OFFSET> {
    const TABLE: VTable = VTable {
        clone: clone_owner::<S, OFFSET>,
        drop: drop_owner::<S, OFFSET>,
        to_arc: copy_field::<T>,
        type_id: TypeId::of::<T>,
    };
}

/// # Safety
/// `field` points to a live `T`.
unsafe fn copy_field<T: Clone>(field: NonNull<()>) -> NonNull<()> {
    // SAFETY: by this function's contract.
    into_raw(Arc::new(unsafe { field.cast::<T>().as_ref() }.clone()))
}

/// `Arc::into_raw`, as the `NonNull` it is.
fn into_raw<T>(arc: Arc<T>) -> NonNull<()> {
    // SAFETY: `Arc::into_raw` never returns null.
    unsafe { NonNull::new_unchecked(Arc::into_raw(arc).cast_mut()) }.cast()
}

/// The `Arc<S>` data pointer that a field pointer was derived from.
///
/// # Safety
/// `field` was made by `Value::from_field::<S, _, OFFSET>`.
unsafe fn owner_of<S, const OFFSET: usize>(field: NonNull<()>) -> *const S {
    // SAFETY: `field` is `OFFSET` bytes past the start of the `S` (same allocation).
    unsafe { field.as_ptr().cast::<u8>().sub(OFFSET).cast::<S>() }
}

/// # Safety
/// As for `owner_of`, and the owner still holds a strong count.
unsafe fn clone_owner<S, const OFFSET: usize>(field: NonNull<()>) {
    // SAFETY: by this function's contract.
    unsafe { Arc::increment_strong_count(owner_of::<S, OFFSET>(field)) }
}

/// # Safety
/// As for `clone_owner`; the caller gives up the strong count it owned.
unsafe fn drop_owner<S, const OFFSET: usize>(field: NonNull<()>) {
    // SAFETY: by this function's contract; `from_raw` takes back exactly one count.
    drop(unsafe { Arc::from_raw(owner_of::<S, OFFSET>(field)) })
}

/// # Safety
/// `data` comes from `Arc::<T>::into_raw` and that `Arc` still holds a strong count.
unsafe fn clone_arc<T>(data: NonNull<()>) {
    // SAFETY: by this function's contract.
    unsafe { Arc::increment_strong_count(data.cast::<T>().as_ptr()) }
}

/// # Safety
/// As for `clone_arc`.
unsafe fn share_arc<T>(data: NonNull<()>) -> NonNull<()> {
    // SAFETY: by this function's contract; the count added is the caller's.
    unsafe { clone_arc::<T>(data) };
    data
}

/// # Safety
/// As for `clone_arc`; the caller gives up the strong count it owned.
unsafe fn drop_arc<T>(data: NonNull<()>) {
    // SAFETY: by this function's contract; `from_raw` takes back exactly one count.
    drop(unsafe { Arc::from_raw(data.cast::<T>().as_ptr()) })
}

// SAFETY: a `Value` is only made from an `Arc<T>` with `T: Send + Sync` (`from_arc`), or from an
// `Arc<S>` and a `T` field with both `Send + Sync` (`from_field`); such `Arc`s are `Send` and
// `Sync`, and the raw pointer is that `Arc` in another form.
unsafe impl Send for Value {}
// SAFETY: as above.
unsafe impl Sync for Value {}

impl Value {
    /// Moves `value` into a new `Arc`.
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> Value {
        Value::from_arc(Arc::new(value))
    }

    /// Takes over `arc`'s strong count.
    pub(crate) fn from_arc<T: Send + Sync + 'static>(arc: Arc<T>) -> Value {
        Value { data: into_raw(arc), vtable: &TableOf::<T>::TABLE }
    }

    /// Shares the field at byte `OFFSET` of `owner`'s `S`, a `T`: the value keeps the whole
    /// `Arc<S>` alive (one strong count), so several variables can be bound from one
    /// allocation (`ctxflow::fields!`).
    ///
    /// # Safety
    /// `S` has a field of type `T` at byte offset `OFFSET` (`core::mem::offset_of!`).
    pub(crate) unsafe fn from_field<S, T, const OFFSET: usize>(owner: &Arc<S>) -> Value
    where
        S: Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let base = into_raw(Arc::clone(owner)).cast::<u8>();
        // SAFETY: `OFFSET` is within the `S` that `base` points to (the caller's contract), so
        // the result points into the same allocation.
        let data = unsafe { base.add(OFFSET) }.cast::<()>();
        Value { data, vtable: &FieldTable::<S, T, OFFSET>::TABLE }
    }

    /// Whether this value holds a `T`.
    pub(crate) fn is<T: 'static>(&self) -> bool {
        (self.vtable.type_id)() == TypeId::of::<T>()
    }

    /// The value as a `T`, checked. (Tests and debug assertions; reads use [`Value::get`].)
    #[cfg(test)]
    pub(crate) fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        // SAFETY: the type was just checked.
        self.is::<T>().then(|| unsafe { self.get::<T>() })
    }

    /// The value as a `T`, unchecked.
    ///
    /// # Safety
    /// The value was made from a `T` (`self.is::<T>()`).
    #[inline]
    pub(crate) unsafe fn get<T: 'static>(&self) -> &T {
        // SAFETY: `data` points to a `T` (the caller's contract) in an `Arc` that `self` keeps
        // alive for as long as the returned reference borrows `self`.
        unsafe { self.data.cast::<T>().as_ref() }
    }

    /// An `Arc<T>` of the value: the value's own `Arc` (one strong count more), or for a
    /// field of a shared struct a new `Arc` holding a clone.
    ///
    /// # Safety
    /// As for [`Value::get`].
    pub(crate) unsafe fn to_arc<T: 'static>(&self) -> Arc<T> {
        // SAFETY: `data` and `vtable` were made together for a `T` (the caller's contract);
        // `to_arc` returns `Arc::into_raw` of an `Arc<T>` whose count is now ours.
        unsafe { Arc::from_raw((self.vtable.to_arc)(self.data).cast::<T>().as_ptr()) }
    }
}

impl Clone for Value {
    fn clone(&self) -> Value {
        // SAFETY: `data` and `vtable` were made together by `from_arc` from an `Arc<T>` of the
        // table's `T`, and `self` still owns its strong count.
        unsafe { (self.vtable.clone)(self.data) };
        Value { data: self.data, vtable: self.vtable }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        // SAFETY: as in `clone`; `self` owned one strong count and gives it back once.
        unsafe { (self.vtable.drop)(self.data) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_and_drops_release() {
        let arc = Arc::new(String::from("v"));
        let a = Value::from_arc(Arc::clone(&arc));
        let b = a.clone();
        assert_eq!(Arc::strong_count(&arc), 3);
        assert_eq!(b.downcast_ref::<String>().map(String::as_str), Some("v"));
        assert!(b.downcast_ref::<u32>().is_none());
        // SAFETY: `a` was made from a `String`.
        let back = unsafe { a.to_arc::<String>() };
        assert!(Arc::ptr_eq(&back, &arc));
        drop((a, b, back));
        assert_eq!(Arc::strong_count(&arc), 1);
    }

    #[test]
    fn fields_share_their_owner_and_drop_it_with_the_last_one() {
        struct Pair {
            _pad: u8,
            name: String,
            n: u64,
        }
        let owner = Arc::new(Pair { _pad: 0, name: "x".into(), n: 7 });
        // SAFETY: the offsets and types of `Pair`'s fields.
        let (name, n) = unsafe {
            (
                Value::from_field::<Pair, String, { std::mem::offset_of!(Pair, name) }>(&owner),
                Value::from_field::<Pair, u64, { std::mem::offset_of!(Pair, n) }>(&owner),
            )
        };
        assert_eq!(Arc::strong_count(&owner), 3);
        assert_eq!(name.downcast_ref::<String>().map(String::as_str), Some("x"));
        assert_eq!(n.clone().downcast_ref::<u64>(), Some(&7));
        assert!(n.downcast_ref::<String>().is_none());
        // SAFETY: `n` holds a `u64`; a field's `Arc` is a copy.
        let copy = unsafe { n.to_arc::<u64>() };
        assert_eq!((*copy, Arc::strong_count(&copy)), (7, 1));
        let weak = Arc::downgrade(&owner);
        drop((owner, name));
        assert!(weak.upgrade().is_some(), "a field still holds the owner");
        drop(n);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn zero_sized_and_over_aligned_values() {
        #[repr(align(64))]
        struct Wide(u8);
        let w = Value::new(Wide(9));
        assert_eq!(w.downcast_ref::<Wide>().map(|w| w.0), Some(9));
        let unit = Value::new(());
        assert!(unit.clone().is::<()>());
    }
}
