//! A thread's copy of the hook list can hold the last reference to a hook that was
//! unregistered meanwhile; the copy is then released when the thread exits, in a thread-local
//! destructor, where a panic aborts the process. A hook whose `Drop` panics there must be
//! contained like any other panic of hook code (docs/hooks.md, "Panics"). Its own binary, so
//! that no other test's thread holds a copy of the list.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use ctxflow::AsyncResource;
use ctxflow::hooks::{self, Hook};

static DROPPED: AtomicBool = AtomicBool::new(false);

struct PanicsOnDrop;

impl Hook for PanicsOnDrop {}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        DROPPED.store(true, Ordering::SeqCst);
        panic!("the hook's Drop panics");
    }
}

#[test]
fn a_hook_released_at_thread_exit_may_panic_in_its_drop() {
    let handle = hooks::register(PanicsOnDrop);
    let (copied, copied_rx) = mpsc::channel();
    let (unregistered, unregistered_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // The event makes this thread copy the list, the hook included.
        AsyncResource::new("copy the list").sync_run(|| ());
        copied.send(()).unwrap();
        // No event after the unregistration: the copy is still the old one when the thread ends.
        unregistered_rx.recv().unwrap();
    });
    copied_rx.recv().unwrap();
    handle.unregister();
    assert!(!DROPPED.load(Ordering::SeqCst), "the thread's copy still holds the hook");
    unregistered.send(()).unwrap();
    // Without containment the process aborts here, in the thread's thread-local destructor.
    thread.join().expect("the thread ends normally");
    assert!(DROPPED.load(Ordering::SeqCst), "the hook was released with the thread's copy");
}
