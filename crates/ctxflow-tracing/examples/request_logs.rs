//! Log lines that carry their request, in text (or JSON with `-- --json`).
//!
//! `cargo run -p ctxflow-tracing --example request_logs [-- --json]`
//!
//! Three concurrent requests each log from their handler, a spawned task and a blocking
//! closure; nobody opens a span, yet every line names its request and tenant.

use ctxflow::ContextVar;
use ctxflow_tracing::ContextFields;
use tracing::info;
use tracing_subscriber::fmt;

static REQUEST_ID: ContextVar<String> = ContextVar::new("request_id");
static TENANT: ContextVar<&str> = ContextVar::new("tenant");

async fn handle(path: &'static str) {
    info!(path, "request received");
    ctxflow::spawn(async { info!("audit written") }).await.unwrap();
    ctxflow::spawn_blocking(|| info!("thumbnail rendered")).await.unwrap();
}

async fn serve() {
    let requests = [("req-1", "acme", "/a"), ("req-2", "globex", "/b"), ("req-3", "acme", "/c")];
    let handles = requests.map(|(id, tenant, path)| {
        tokio::spawn(ctxflow::scope((REQUEST_ID.value(id.to_string()), TENANT.value(tenant)), handle(path)))
    });
    for h in handles {
        h.await.unwrap();
    }
}

fn main() {
    let fields = ContextFields::new().field("request_id", &REQUEST_ID).field("tenant", &TENANT);
    let installed = if std::env::args().any(|a| a == "--json") {
        fmt().json().map_event_format(|f| fields.wrap(f)).try_init()
    } else {
        fmt().map_event_format(|f| fields.wrap(f)).try_init()
    };
    installed.expect("no other global subscriber in this example");
    tokio::runtime::Runtime::new().expect("a tokio runtime").block_on(serve());
}
