//! Two subscribers with `SpanContexts` (a global one and a thread's default, say) share one
//! `SpansFollowSpawns` hook: work spawned inside a span enters it once per poll, not once per
//! layer, and the hook goes with the last layer. In a binary of its own: hooks are process-wide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ctxflow_tracing::SpanContexts;
use tracing::Subscriber;
use tracing::span::Id;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// Counts the enters of each span, by name.
#[derive(Clone, Default)]
struct Enters(Arc<Mutex<HashMap<&'static str, usize>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Enters {
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            *self.0.lock().unwrap().entry(span.name()).or_default() += 1;
        }
    }
}

/// Spawns a task of `polls` polls inside a `request` span through `subscriber`; the enters of
/// that span during the run.
fn request_enters(subscriber: impl Subscriber + Send + Sync + 'static, enters: &Enters, polls: usize) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let _default = tracing::subscriber::set_default(subscriber);
    let before = enters.0.lock().unwrap().get("request").copied().unwrap_or(0);
    rt.block_on(async {
        let span = tracing::info_span!("request");
        let task = span.in_scope(|| {
            ctxflow::spawn(async move {
                for _ in 1..polls {
                    tokio::task::yield_now().await;
                }
            })
        });
        task.await.unwrap();
    });
    enters.0.lock().unwrap().get("request").copied().unwrap_or(0) - before
}

#[test]
fn two_layers_share_one_hook_and_it_goes_with_the_last() {
    const POLLS: usize = 5;
    let enters = Enters::default();
    // One subscriber: the span's enter for the spawn call, then one per poll.
    let one = Registry::default().with(SpanContexts::default()).with(enters.clone());
    assert_eq!(request_enters(one, &enters, POLLS), 1 + POLLS);
    // Another layer alive in a second subscriber: still one enter per poll.
    let other = Registry::default().with(SpanContexts::default());
    let again = Registry::default().with(SpanContexts::default()).with(enters.clone());
    assert_eq!(request_enters(again, &enters, POLLS), 1 + POLLS, "one hook for every layer");
    drop(other);
    // No layer follows spawns any more: the span is entered for the spawn call only.
    let without = Registry::default().with(SpanContexts::default().follow_spawns(false)).with(enters.clone());
    assert_eq!(request_enters(without, &enters, POLLS), 1, "the hook went with the last layer");
}
