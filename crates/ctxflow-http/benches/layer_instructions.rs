//! The layer's cost as a count of instructions, which the load of a shared machine does not
//! change (wall-clock benchmarks on a loaded machine vary by 2x). Runs one case in a loop, as
//! `layer_instructions <case> <n>`, for the project's instruction counter:
//!
//! ```sh
//! cargo bench -p ctxflow-http --bench layer_instructions --no-run   # prints the binary's path
//! target/release/instr count BINARY layer   # cachegrind with n and 2n; the difference over n
//! ```
//!
//! `scripts/layer-instructions.sh` does this for every case and prints instructions per request.
//! Cases: `bare`/`layer` (no headers), `bare-headers`/`layer-headers` (the four headers),
//! `layer-headers-declared` (and `tenant` declared as an export), `client`/`client-declared`
//! (one outgoing request through `ClientLayer` inside a request's context); `bare-client` is
//! the client without the layer.

mod support;

use ctxflow_http::{Baggage, ServerLayer};
use support::{TENANT, inner, request, serve};
use tower::Layer;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let case = args.next().unwrap_or_else(|| "layer".into());
    let n: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let headers = case.contains("headers");
    if case.ends_with("declared") {
        Baggage::export(&TENANT, "tenant").unwrap();
    }
    // Everything is set up (and one request served) before the counted loop.
    let mut bare = inner();
    let mut layered = ServerLayer::new().layer(inner());
    let context = support::request_context();
    let mut client = support::client();
    let mut bare_client = support::sink();
    for _ in 0..n {
        match case.as_str() {
            "bare" | "bare-headers" => serve(&mut bare, request(headers)),
            "layer" | "layer-headers" | "layer-headers-declared" => serve(&mut layered, request(headers)),
            "client" | "client-declared" => support::send(&mut client, &context),
            "bare-client" => {
                context
                    .sync_run(|| support::now(tower::ServiceExt::oneshot(&mut bare_client, request(false))).unwrap());
            }
            other => panic!("unknown case {other:?}"),
        }
    }
}
