//! The immutable map that *is* a context.
//!
//! A context is a small sorted array of `(variable key, value)` pairs behind one counted
//! pointer. It is never mutated once built: `scope`, `set` and `exit` build a new frame from
//! the current one. That is what makes snapshots cheap (a count increment) and makes it
//! impossible for one task to observe another's writes. Contexts in real services hold a
//! handful of variables, so a linear scan over an inline array is the lookup, and a few entries
//! live in the frame itself.

use std::ops::Deref;

use smallvec::SmallVec;
use triomphe::ThinArc;

use super::value::Value;

/// The low bit of a key: the variable is not inherited by spawned tasks and threads.
pub(crate) const NOT_INHERITED: u64 = 1;

/// One variable's value in a frame. The key first, next to the value's `Arc`: a read touches
/// the two, and rarely the rest (see `Value::downcast_ref`).
#[derive(Clone)]
#[repr(C)]
pub(crate) struct Entry {
    pub(crate) key: u64,
    pub(crate) value: Value,
}

impl Entry {
    fn inherited(&self) -> bool {
        self.key & NOT_INHERITED == 0
    }
}

/// The context proper: entries sorted by key, never empty. `None` (no frame at all) is the
/// empty context and allocates nothing.
pub(crate) type Frame = [Entry];

/// A frame behind a thin counted pointer: the entries' count is stored with them, in the one
/// allocation, rather than beside the pointer as in `Arc<[Entry]>`. Every task, scope and
/// snapshot holds one, so the pointer's size is memory per task; a read loads the count from
/// the line that holds the first entry, which it reads anyway.
#[derive(Clone)]
pub(crate) struct SharedFrame(ThinArc<(), Entry>);

impl SharedFrame {
    /// The frame of exactly these entries, in one allocation.
    fn of(entries: impl ExactSizeIterator<Item = Entry>) -> SharedFrame {
        SharedFrame(ThinArc::from_header_and_iter((), entries))
    }

    /// Whether `self` and `other` are the same frame (not merely equal ones).
    #[cfg(test)]
    pub(crate) fn ptr_eq(&self, other: &SharedFrame) -> bool {
        self.0.ptr() == other.0.ptr()
    }

    /// Whether another holder shares this frame, so dropping this one drops no value.
    #[cfg(all(feature = "runtime", tokio_unstable, not(loom)))]
    pub(crate) fn is_shared(&self) -> bool {
        ThinArc::strong_count(&self.0) > 1
    }
}

impl Deref for SharedFrame {
    type Target = Frame;

    #[inline]
    fn deref(&self) -> &Frame {
        &self.0.slice
    }
}

/// The current context as held by a thread, a scope or a task.
pub(crate) type Ctx = Option<SharedFrame>;

/// The value of the variable `key` in `frame`.
#[inline]
pub(crate) fn lookup(frame: &Frame, key: u64) -> Option<&Value> {
    // Sorted and small: the scan stops at the first key not below the one sought.
    for e in frame {
        if e.key >= key {
            return (e.key == key).then_some(&e.value);
        }
    }
    None
}

/// The keys of the variables set in `frame`, in order.
pub(crate) fn keys(frame: &Frame) -> impl Iterator<Item = u64> + '_ {
    frame.iter().map(|e| e.key)
}

/// A pending change to one variable: a new value, or `None` to unset it. (Public only so the
/// sealed `IntoBindings` trait can name it; the module is private.)
#[derive(Clone)]
pub struct Change {
    pub(crate) key: u64,
    pub(crate) value: Option<Value>,
}

/// `base` with `changes` applied in order (later ones win), as one new frame; `None` when the
/// changes leave `base` as it is (then share `base` instead of copying it).
pub(crate) fn apply(base: Option<&Frame>, changes: impl IntoIterator<Item = Change>) -> Option<Ctx> {
    let base = base.unwrap_or(&[]);
    let mut changes = changes.into_iter();
    let (first, at, replaced) = loop {
        let change = changes.next()?;
        let at = base.partition_point(|e| e.key < change.key);
        let replaced = base.get(at).is_some_and(|e| e.key == change.key);
        if change.value.is_some() || replaced {
            break (change, at, replaced);
        }
        // Unsetting what is not set: nothing to copy yet.
    };
    let after = at + usize::from(replaced);
    let first = first.value.map(|value| Entry { key: first.key, value });
    let Some(second) = changes.next() else {
        // One change, the usual case. On the empty context (a request's first scope), the frame
        // is that entry alone.
        if base.is_empty() {
            return Some(alone(first));
        }
        // Otherwise one allocation of the right size, each entry written in place.
        let len = at + usize::from(first.is_some()) + (base.len() - after);
        if len == 0 {
            return Some(None);
        }
        let entries = base[..at].iter().cloned().chain(first).chain(base[after..].iter().cloned());
        return Some(Some(SharedFrame::of(Counted { entries, len })));
    };
    let mut entries: SmallVec<[Entry; 4]> = base[..at].iter().cloned().chain(first).collect();
    entries.extend(base[after..].iter().cloned());
    for Change { key, value } in std::iter::once(second).chain(changes) {
        match (entries.binary_search_by_key(&key, |e| e.key), value) {
            (Ok(i), Some(value)) => entries[i].value = value,
            (Err(i), Some(value)) => entries.insert(i, Entry { key, value }),
            (Ok(i), None) => drop(entries.remove(i)),
            (Err(_), None) => {}
        }
    }
    Some(share(entries))
}

/// The frame of `entry` alone.
fn alone(entry: Option<Entry>) -> Ctx {
    entry.map(|e| SharedFrame::of(std::iter::once(e)))
}

/// The frame of `entries`, or the empty context if there are none.
fn share(entries: SmallVec<[Entry; 4]>) -> Ctx {
    if entries.is_empty() {
        return None;
    }
    Some(SharedFrame::of(entries.into_iter()))
}

/// Entries known to number exactly `len`: a chain of iterators is not an `ExactSizeIterator`
/// itself, though the count of its parts is known.
struct Counted<I> {
    entries: I,
    len: usize,
}

impl<I: Iterator<Item = Entry>> Iterator for Counted<I> {
    type Item = Entry;

    #[inline]
    fn next(&mut self) -> Option<Entry> {
        let entry = self.entries.next()?;
        self.len = self.len.saturating_sub(1);
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<I: Iterator<Item = Entry>> ExactSizeIterator for Counted<I> {}

/// The part of `base` that tasks, blocking jobs and threads spawned from it inherit.
pub(crate) fn inheritable(base: &Ctx) -> Ctx {
    match base {
        Some(f) if !f.iter().all(Entry::inherited) => share(f.iter().filter(|e| e.inherited()).cloned().collect()),
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
        lookup(ctx.as_ref()?, key)?.downcast_ref::<u32>().copied()
    }

    fn keys_of(ctx: &Ctx) -> Vec<u64> {
        keys(ctx.as_ref().unwrap()).collect()
    }

    #[test]
    fn changes_are_sorted_and_replace() {
        let a = build(&None, &[set(8, 1), set(2, 2), set(4, 3)]);
        assert_eq!(keys_of(&a), [2, 4, 8]);
        let b = build(&a, &[set(4, 30)]);
        assert_eq!(read(&b, 4), Some(30));
        assert_eq!(read(&a, 4), Some(3), "the base frame is never changed");
        assert_eq!(b.as_ref().unwrap().len(), 3);
        let c = build(&a, &[set(6, 1), unset(6), unset(2)]);
        assert_eq!(keys_of(&c), [4, 8]);
        let d = build(&a, &[unset(2)]);
        assert_eq!(keys_of(&d), [4, 8], "one change that removes an entry");
        assert!(build(&build(&None, &[set(2, 1)]), &[unset(2)]).is_none(), "and the last one");
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
    fn a_context_is_one_pointer_wide() {
        // Every task, scope and snapshot holds one: its size is memory per task.
        assert_eq!(size_of::<Ctx>(), size_of::<usize>());
    }

    #[test]
    fn inheritable_drops_marked_entries_only() {
        let a = build(&None, &[set(2, 1), set(5, 2)]);
        let b = inheritable(&a);
        assert_eq!(read(&b, 2), Some(1));
        assert_eq!(read(&b, 5), None);
        let c = build(&None, &[set(2, 1)]);
        assert!(c.as_ref().unwrap().ptr_eq(inheritable(&c).as_ref().unwrap()));
    }
}
