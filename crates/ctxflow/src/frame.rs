//! The immutable map that *is* a context.
//!
//! A context is a small sorted array of `(variable id, value)` pairs behind one counted
//! pointer ([`FrameRef`]: an `Arc` whose allocation the thread reuses). It is never mutated
//! once built: `scope`, `set` and `exit` build a new frame from the current one. That is what
//! makes snapshots free (a count increment) and makes it impossible for one task to observe
//! another's writes. Contexts in real services hold a handful of variables, so a linear scan
//! over an inline array beats any hash map, and up to four entries live in the frame's own
//! allocation.

use smallvec::SmallVec;

pub(crate) use crate::frame_ref::{FrameRef, NewFrame};
pub(crate) use crate::value::Value;

/// One variable's value in a frame. The low bit of `key` is set for variables that are not
/// inherited by spawned tasks and threads (see `ContextVar::not_inherited`).
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) key: u64,
    pub(crate) value: Value,
}

impl Entry {
    fn inherited(&self) -> bool {
        self.key & crate::var::NOT_INHERITED == 0
    }
}

/// A frame's entries, sorted by key.
pub(crate) type Entries = SmallVec<[Entry; 4]>;

/// The context proper. `None` (no frame at all) is the empty context and allocates nothing.
pub(crate) struct Frame {
    pub(crate) entries: Entries,
}

/// The current context as held by a thread, a scope or a task.
pub(crate) type Ctx = Option<FrameRef>;

impl Frame {
    #[inline]
    pub(crate) fn get(&self, key: u64) -> Option<&Value> {
        // Sorted, small: a linear scan that stops early is the fastest lookup here.
        for e in &self.entries {
            if e.key >= key {
                return (e.key == key).then_some(&e.value);
            }
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The value of the variable `key` as a `T`, without a dynamic type check.
    ///
    /// Callers pass the key of a `ContextVar<T>` with its own `T`: a key is assigned to exactly
    /// one variable (`var.rs`, `assign_key`), and the only way to make an entry is that
    /// variable's `change`, from a `T`. So an entry under that key always holds a `T`.
    #[inline]
    pub(crate) fn get_as<T: 'static>(&self, key: u64) -> Option<&T> {
        let value = self.get(key)?;
        debug_assert!(value.is::<T>(), "a frame entry holds another type than its variable's");
        // SAFETY: by the invariant above the value holds a `T`. Measured: a checked downcast
        // (a virtual `type_id` call) was ~12 of ~55 instructions of a read (callgrind, see
        // docs/benchmarks.md).
        Some(unsafe { value.get::<T>() })
    }

    #[cfg(any(test, feature = "diagnostics"))]
    pub(crate) fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.iter().map(|e| e.key)
    }
}

/// A pending change to one variable: a new value, or `None` to unset it. (Public only so the
/// sealed `IntoBindings` trait can name it; the module is private.)
#[derive(Clone)]
pub struct Change {
    pub(crate) key: u64,
    pub(crate) value: Option<Value>,
}

/// `base` with `changes` applied in order (later ones win), as one new frame; `None` when the
/// changes leave `base` as it is (then share `base` instead of copying it). The new values are
/// moved in, not cloned, and the first change is merged while the base's entries are copied
/// straight into the new frame, so the entry it replaces is never cloned (a clone and a drop
/// are two atomic operations) and nothing is sorted or shifted in the common case of one change.
pub(crate) fn apply(base: Option<&Frame>, changes: impl IntoIterator<Item = Change>) -> Option<Ctx> {
    let base = base.map_or(&[][..], |f| &f.entries[..]);
    let mut changes = changes.into_iter();
    let (first, at, replaced) = loop {
        let change = changes.next()?;
        // A linear scan: frames are small, and a binary search's loop cost more here.
        let at = base.iter().position(|e| e.key >= change.key).unwrap_or(base.len());
        let replaced = base.get(at).is_some_and(|e| e.key == change.key);
        if change.value.is_some() || replaced {
            break (change, at, replaced);
        }
        // Unsetting what is not set: nothing to copy yet.
    };
    let mut new = NewFrame::new();
    let entries = new.entries();
    for e in &base[..at] {
        entries.push(e.clone());
    }
    if let Some(value) = first.value {
        entries.push(Entry { key: first.key, value });
    }
    for e in &base[at + usize::from(replaced)..] {
        entries.push(e.clone());
    }
    for Change { key, value } in changes {
        match (entries.binary_search_by_key(&key, |e| e.key), value) {
            (Ok(i), Some(value)) => entries[i].value = value,
            (Err(i), Some(value)) => entries.insert(i, Entry { key, value }),
            (Ok(i), None) => drop(entries.remove(i)),
            (Err(_), None) => {}
        }
    }
    Some(new.finish())
}

/// The part of `base` that tasks, blocking jobs and threads spawned from it inherit.
pub(crate) fn inheritable(base: &Ctx) -> Ctx {
    match base {
        Some(f) if !f.entries.iter().all(Entry::inherited) => {
            let mut new = NewFrame::new();
            new.entries().extend(f.entries.iter().filter(|e| e.inherited()).cloned());
            new.finish()
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: u64, v: u32) -> Change {
        Change { key, value: Some(Value::new(v)) }
    }

    fn unset(key: u64) -> Change {
        Change { key, value: None }
    }

    fn build(base: &Ctx, changes: &[Change]) -> Ctx {
        apply(base.as_deref(), changes.to_vec()).unwrap_or_else(|| base.clone())
    }

    fn read(ctx: &Ctx, key: u64) -> Option<u32> {
        ctx.as_ref()?.get(key)?.downcast_ref::<u32>().copied()
    }

    #[test]
    fn changes_are_sorted_and_replace() {
        let a = build(&None, &[set(8, 1), set(2, 2), set(4, 3)]);
        let keys: Vec<u64> = a.as_ref().unwrap().keys().collect();
        assert_eq!(keys, [2, 4, 8]);
        let b = build(&a, &[set(4, 30)]);
        assert_eq!(read(&b, 4), Some(30));
        assert_eq!(read(&a, 4), Some(3), "the base frame is never changed");
        assert_eq!(b.as_ref().unwrap().len(), 3);
        let c = build(&a, &[set(6, 1), unset(6), unset(2)]);
        assert_eq!(c.as_ref().unwrap().keys().collect::<Vec<_>>(), [4, 8]);
    }

    #[test]
    fn many_entries_cross_the_inline_threshold() {
        let mut ctx: Ctx = None;
        for k in (1..=40u64).rev().map(|i| i * 2) {
            ctx = build(&ctx, &[set(k, k as u32)]);
        }
        for k in (2..=80u64).step_by(2) {
            assert_eq!(read(&ctx, k), Some(k as u32));
            assert_eq!(read(&ctx, k + 1), None);
        }
        for k in (2..=80u64).step_by(2) {
            ctx = build(&ctx, &[unset(k)]);
            assert_eq!(read(&ctx, k), None);
            if k < 80 {
                assert_eq!(read(&ctx, k + 2), Some(k as u32 + 2));
            }
        }
        assert!(ctx.is_none(), "removing every entry gives the empty context");
    }

    #[test]
    fn unsetting_an_absent_key_changes_nothing() {
        let a = build(&None, &[set(2, 1)]);
        assert!(apply(a.as_deref(), [unset(4)]).is_none());
        assert!(apply(None, [unset(4)]).is_none());
    }

    #[test]
    fn inheritable_drops_marked_entries_only() {
        let a = build(&None, &[set(2, 1), set(5, 2)]);
        let b = inheritable(&a);
        assert_eq!(read(&b, 2), Some(1));
        assert_eq!(read(&b, 5), None);
        let c = build(&None, &[set(2, 1)]);
        assert!(FrameRef::ptr_eq(c.as_ref().unwrap(), inheritable(&c).as_ref().unwrap()));
    }
}
