//! Unit tests of the current context: writes inside reads, the overlay, unwinding.
use std::sync::Arc;

use super::*;
use crate::context::frame::{Change, apply};
use crate::context::value::Value;

fn frame_with(key: u64, v: u32) -> Ctx {
    apply(None, [Change { key, value: Some(Value::new(v)) }]).unwrap()
}

fn current(key: u64) -> Option<u32> {
    read(|f| frame::lookup(f?, key)?.downcast_ref::<u32>().copied())
}

fn overlaid() -> usize {
    CURRENT.with(|c| c.overlaid.get())
}

#[test]
fn a_set_inside_a_read_is_seen_inside_and_after_it_and_the_read_frame_stays_alive() {
    let mut outer = frame_with(2, 1);
    let g = Entered::new(&mut outer);
    read(|f| {
        let v = frame::lookup(f.unwrap(), 2).unwrap();
        replace(frame_with(2, 2)).unwrap();
        assert_eq!(current(2), Some(2), "the set shows inside the read");
        replace(frame_with(2, 3)).unwrap();
        assert_eq!(current(2), Some(3));
        assert_eq!(v.downcast_ref::<u32>(), Some(&1), "the borrowed frame is intact");
    });
    assert_eq!(current(2), Some(3), "and after it");
    drop(g);
    assert_eq!(current(2), None);
    assert_eq!(outer.as_ref().and_then(|f| frame::lookup(f, 2)?.downcast_ref::<u32>().copied()), Some(3));
    assert_eq!(overlaid(), 0);
}

#[test]
fn a_scope_entered_inside_a_read_goes_to_the_overlay_and_leaves_it() {
    let mut outer = frame_with(2, 1);
    let _g = Entered::new(&mut outer);
    read(|_| {
        let mut inner = frame_with(2, 5);
        {
            let _i = Entered::new(&mut inner);
            assert_eq!(overlaid(), 1);
            assert_eq!(current(2), Some(5));
            replace(frame_with(2, 6)).unwrap();
            // A read inside, and a scope inside that read: still the overlay.
            read(|_| {
                let mut deeper = frame_with(2, 7);
                let _d = Entered::new(&mut deeper);
                assert_eq!(current(2), Some(7));
            });
            assert_eq!(current(2), Some(6));
        }
        assert_eq!(overlaid(), 0);
        assert_eq!(current(2), Some(1), "the read's own frame is current again");
        let left = inner.as_ref().and_then(|f| frame::lookup(f, 2)?.downcast_ref::<u32>().copied());
        assert_eq!(left, Some(6), "the scope's frame, as its code left it, went back to its owner");
    });
    assert_eq!(current(2), Some(1));
}

#[test]
fn a_set_inside_a_read_inside_a_scope_ends_with_the_scope() {
    let witness = Arc::new(());
    let mut scope = frame_with(2, 1);
    {
        let _g = Entered::new(&mut scope);
        read(|_| {
            let holding = apply(None, [Change { key: 3, value: Some(Value::new(Arc::clone(&witness))) }]);
            replace(holding.unwrap()).unwrap();
        });
        assert_eq!(current(2), None, "the set replaced the scope's frame");
        assert!(read(|f| f.is_some_and(|f| frame::lookup(f, 3).is_some())));
    }
    assert_eq!((current(2), current(3)), (None, None), "the caller's context is back");
    drop(scope);
    assert_eq!(Arc::strong_count(&witness), 1, "nothing retired on the way leaks");
    assert_eq!(overlaid(), 0);
}

#[test]
fn a_root_set_inside_a_read_settles_back_into_the_base() {
    std::thread::spawn(|| {
        replace(frame_with(2, 1)).unwrap();
        read(|_| replace(frame_with(2, 2)).unwrap());
        assert_eq!(overlaid(), 1, "set inside a read: the overlay holds it");
        assert_eq!(current(2), Some(2));
        // The next write with no read in progress folds it back: reads are fast again.
        replace(frame_with(2, 3)).unwrap();
        assert_eq!(overlaid(), 0);
        assert_eq!(current(2), Some(3));
    })
    .join()
    .unwrap();
}

#[test]
fn an_unwind_out_of_an_overlay_scope_restores_everything() {
    let mut outer = frame_with(2, 1);
    let _g = Entered::new(&mut outer);
    read(|_| {
        let mut inner = frame_with(2, 9);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _i = Entered::new(&mut inner);
            read(|_| replace(frame_with(2, 10)).unwrap());
            panic!("boom");
        }));
        assert!(r.is_err());
        assert_eq!(overlaid(), 0);
        assert_eq!(current(2), Some(1));
        assert_eq!(depth(), 1);
    });
}

#[test]
fn entered_restores_on_unwind_and_gives_the_frame_back() {
    let before = current(2);
    let mut slot = frame_with(2, 9);
    let kept = slot.clone().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = Entered::new(&mut slot);
        assert_eq!(current(2), Some(9));
        assert_eq!(depth(), 1);
        panic!("boom");
    }));
    assert!(r.is_err());
    assert_eq!(current(2), before);
    assert_eq!(depth(), 0);
    assert!(slot.as_ref().unwrap().ptr_eq(&kept), "the entered frame went back to its owner");
}

fn enter(frame: Ctx) -> u64 {
    enter_external(frame).ok().expect("entered")
}

#[test]
fn an_external_entry_is_current_until_exited() {
    let token = enter(frame_with(2, 1));
    assert_eq!((current(2), depth()), (Some(1), 1));
    exit_external(token);
    assert_eq!((current(2), depth()), (None, 0));
    exit_external(token); // twice: ignored
    assert_eq!(depth(), 0);
}

#[test]
fn external_entries_may_be_exited_in_any_order() {
    let a = enter(frame_with(2, 1));
    let b = enter(frame_with(2, 2));
    exit_external(a);
    assert_eq!(current(2), Some(2), "b is still entered; a leaves when b does");
    exit_external(b);
    assert_eq!((current(2), depth()), (None, 0), "both gone");
}

#[test]
fn a_scope_that_ends_takes_the_entries_made_inside_it() {
    let mut outer = frame_with(2, 1);
    let left_behind = {
        let _scope = Entered::new(&mut outer);
        let token = enter(frame_with(2, 9));
        assert_eq!(current(2), Some(9));
        token // never exited: a guard held across an await
    };
    assert_eq!((current(2), depth()), (None, 0), "the thread's context is back");
    let kept = outer.as_ref().and_then(|f| frame::lookup(f, 2)?.downcast_ref::<u32>().copied());
    assert_eq!(kept, Some(1), "the scope got its own frame back, not the entry's");
    exit_external(left_behind); // later: ignored
    assert_eq!(depth(), 0);
}

#[test]
fn an_entry_exited_under_a_later_scope_leaves_when_that_scope_ends() {
    let token = enter(frame_with(2, 1));
    let mut inner = frame_with(2, 5);
    {
        let _scope = Entered::new(&mut inner);
        exit_external(token);
        assert_eq!(current(2), Some(5), "the later scope is untouched");
    }
    assert_eq!((current(2), depth()), (None, 0));
}

#[test]
fn a_set_inside_an_entry_ends_with_it() {
    let token = enter(frame_with(2, 1));
    replace(frame_with(2, 7)).unwrap();
    read(|_| replace(frame_with(2, 8)).unwrap()); // a set inside a read: the overlay
    assert_eq!(current(2), Some(8));
    exit_external(token);
    assert_eq!((current(2), overlaid(), depth()), (None, 0, 0));
}

#[test]
fn an_entry_made_inside_a_read_goes_to_the_overlay_and_leaves_it() {
    let _outer = enter(frame_with(2, 1));
    read(|held| {
        let token = enter(frame_with(2, 2));
        assert_eq!((current(2), overlaid(), depth()), (Some(2), 1, 2), "current inside the read");
        replace(frame_with(2, 3)).unwrap();
        assert_eq!(current(2), Some(3), "a set inside it replaces its frame");
        exit_external(token);
        assert_eq!((current(2), overlaid(), depth()), (Some(1), 0, 1));
        let kept = frame::lookup(held.unwrap(), 2).and_then(|v| v.downcast_ref::<u32>().copied());
        assert_eq!(kept, Some(1), "the frame the read holds is untouched");
    });
    assert_eq!((current(2), depth()), (Some(1), 1));
}

#[test]
fn an_entry_made_inside_a_read_may_outlive_the_read() {
    let token = read(|_| enter(frame_with(2, 2)));
    assert_eq!((current(2), overlaid()), (Some(2), 1), "current after the read too");
    read(|_| replace(frame_with(2, 4)).unwrap());
    assert_eq!(current(2), Some(4), "a set inside a later read replaces the entry's frame");
    let mut inner = frame_with(2, 5);
    {
        let _scope = Entered::new(&mut inner);
        assert_eq!(current(2), Some(5), "a scope entered over it goes to the overlay too");
    }
    assert_eq!(current(2), Some(4));
    exit_external(token);
    assert_eq!((current(2), overlaid(), depth()), (None, 0, 0));
}

#[test]
fn an_entry_inside_a_read_of_the_overlay_leaves_the_set_below_it() {
    // A root set inside a read leaves its frame in the overlay; the next read takes a counted
    // reference from there, and an entry made inside that read goes over it.
    read(|_| replace(frame_with(2, 1)).unwrap());
    assert_eq!(overlaid(), 1);
    read(|_| {
        let token = enter(frame_with(2, 2));
        assert_eq!((current(2), overlaid()), (Some(2), 2));
        exit_external(token);
        assert_eq!((current(2), overlaid()), (Some(1), 1));
    });
    assert_eq!(current(2), Some(1));
    let entry = enter(frame_with(2, 3));
    assert_eq!((current(2), overlaid()), (Some(3), 0), "with no read in progress, the set settles first");
    exit_external(entry);
    assert_eq!(current(2), Some(1));
    replace(None).unwrap();
}

#[test]
fn a_scope_that_ends_takes_the_entries_made_inside_reads_within_it() {
    let mut outer = frame_with(2, 1);
    let left_behind = {
        let _scope = Entered::new(&mut outer);
        let token = read(|_| enter(frame_with(2, 9)));
        assert_eq!(current(2), Some(9));
        token // never exited
    };
    assert_eq!((current(2), overlaid(), depth()), (None, 0, 0), "the thread's context is back");
    let kept = outer.as_ref().and_then(|f| frame::lookup(f, 2)?.downcast_ref::<u32>().copied());
    assert_eq!(kept, Some(1), "the scope got its own frame back, not the entry's");
    exit_external(left_behind); // later: ignored
    assert_eq!((current(2), overlaid(), depth()), (None, 0, 0));
}

#[test]
fn entries_inside_and_outside_reads_may_be_exited_in_any_order() {
    let a = enter(frame_with(2, 1));
    let b = read(|_| enter(frame_with(2, 2)));
    exit_external(a);
    assert_eq!(current(2), Some(2), "b is still entered; a leaves when b does");
    exit_external(b);
    assert_eq!((current(2), overlaid(), depth()), (None, 0, 0), "both gone");
    let c = read(|_| enter(frame_with(2, 3)));
    let d = enter(frame_with(2, 4));
    exit_external(c);
    assert_eq!(current(2), Some(4));
    exit_external(d);
    assert_eq!((current(2), overlaid(), depth()), (None, 0, 0));
}

#[test]
fn an_entry_left_at_thread_exit_is_released() {
    let witness = Arc::new(());
    let held = witness.clone();
    std::thread::spawn(move || {
        let holding = apply(None, [Change { key: 3, value: Some(Value::new(held.clone())) }]);
        let _never_exited = enter(holding.unwrap());
        let inside = apply(None, [Change { key: 3, value: Some(Value::new(held)) }]);
        let _never_exited_either = read(|_| enter(inside.unwrap()));
    })
    .join()
    .unwrap();
    assert_eq!(Arc::strong_count(&witness), 1);
}

#[test]
fn an_entry_left_inside_a_read_is_left_there_and_the_read_keeps_its_value() {
    let _outer = enter(frame_with(2, 1));
    let token = enter(frame_with(2, 2));
    read(|held| {
        replace(frame_with(2, 3)).unwrap(); // a set inside the entry, made inside the read
        exit_external(token);
        assert_eq!((current(2), depth()), (Some(1), 1), "left at once");
        let kept = frame::lookup(held.unwrap(), 2).and_then(|v| v.downcast_ref::<u32>().copied());
        assert_eq!(kept, Some(2), "the frame the read holds is untouched");
    });
    assert_eq!((current(2), overlaid()), (Some(1), 1), "the outer frame hides the entry's");
    replace(frame_with(2, 4)).unwrap();
    assert_eq!((current(2), overlaid(), depth()), (Some(4), 0, 1), "settled by the next write");
}
