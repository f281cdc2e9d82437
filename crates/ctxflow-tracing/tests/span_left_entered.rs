//! A span still entered when its thread exits (its guard was leaked) leaves its context there,
//! in a thread-local destructor, where a panic aborts the process. A context value whose `Drop`
//! panics must then be contained, as it is for every other context released at thread exit
//! (docs/semantics.md, "Panics in user code that ctxflow calls").

use std::sync::atomic::{AtomicBool, Ordering};

use ctxflow::ContextVar;
use ctxflow_tracing::SpanContexts;
use tracing_subscriber::layer::SubscriberExt;

static DROPPED: AtomicBool = AtomicBool::new(false);

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        DROPPED.store(true, Ordering::SeqCst);
        panic!("the value's Drop panics");
    }
}

static VALUE: ContextVar<PanicsOnDrop> = ContextVar::new("value");

#[test]
fn a_span_left_entered_at_thread_exit_releases_its_context_without_aborting() {
    let thread = std::thread::spawn(|| {
        let subscriber = tracing_subscriber::registry().with(SpanContexts::default().follow_spawns(false));
        let _default = tracing::subscriber::set_default(subscriber);
        // The span carries the context it was created in: the only holder of the value.
        let span = VALUE.sync_scope(PanicsOnDrop, || tracing::info_span!("request"));
        // Entered where there is no context, so the layer enters the span's; never left.
        std::mem::forget(span.enter());
        assert!(VALUE.with(|v| v.is_some()), "the span's context is entered");
        // The span closes; the entered context is now the value's last holder.
        drop(span);
        assert!(!DROPPED.load(Ordering::SeqCst));
    });
    // Without containment the process aborts here, in the thread's thread-local destructors.
    thread.join().expect("the thread ends normally");
    assert!(DROPPED.load(Ordering::SeqCst), "the value was released with the thread");
}
