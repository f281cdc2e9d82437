//! A span entered inside a read of the context (a `with` closure, a value's `Clone` during
//! `get`) carries its context there too: `SpanContexts` enters it through `Snapshot::enter`,
//! which enters inside a read as anywhere else (docs/semantics.md, §4).

use ctxflow::ContextVar;
use ctxflow_tracing::SpanContexts;
use tracing_subscriber::layer::SubscriberExt;

static REQUEST: ContextVar<u64> = ContextVar::new("request");
static OTHER: ContextVar<u64> = ContextVar::new("other");

fn subscriber() -> impl tracing::Subscriber {
    tracing_subscriber::registry().with(SpanContexts::default().follow_spawns(false))
}

#[test]
fn a_span_entered_inside_a_read_carries_its_context_there() {
    let _default = tracing::subscriber::set_default(subscriber());
    let span = REQUEST.sync_scope(7, || tracing::info_span!("request"));
    // No context of its own here, so the layer enters the span's, inside the read as well.
    let seen = OTHER.with(|held| {
        assert_eq!(held, None);
        span.in_scope(|| (REQUEST.get(), OTHER.get()))
    });
    assert_eq!(seen, (Some(7), None));
    assert_eq!(REQUEST.get(), None, "left with the span");
}

#[test]
fn a_span_entered_inside_a_read_and_left_after_it_carries_its_context_until_left() {
    let _default = tracing::subscriber::set_default(subscriber());
    let span = REQUEST.sync_scope(7, || tracing::info_span!("request"));
    let entered = REQUEST.with(|held| {
        assert_eq!(held, None);
        span.enter()
    });
    assert_eq!(REQUEST.get(), Some(7), "still entered after the read");
    REQUEST.with(|held| assert_eq!(held, Some(&7)));
    drop(entered);
    assert_eq!(REQUEST.get(), None);
}
