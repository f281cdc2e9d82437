//! Two real service processes on 127.0.0.1 (the `ctxflow-http-node` binary of this crate): this test is A and calls B
//! over HTTP with 1000 concurrent requests; B spawns two tasks per request that each call C.
//! From B's and C's logs, every request's id, trace and baggage arrived, and no value crossed
//! between requests.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Bytes;
use ctxflow_http::{
    BAGGAGE, Baggage, ClientLayer, REQUEST_ID, RequestId, TRACE, TraceContext, TraceParent, TraceState,
};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

const N: usize = 1000;

/// HTTP/1 needs a connection per request in flight: A opens up to 1000 to B and B up to 2000 to
/// C. Raise the soft open-files limit to the hard one (children inherit it); common defaults
/// of 1024 would otherwise fail the test for a reason that has nothing to do with ctxflow.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(Resource::Nofile, rustix::process::Rlimit { current: limit.maximum, ..limit });
    let now = getrlimit(Resource::Nofile).current;
    assert!(now.is_none_or(|n| n >= 4 * N as u64), "needs at least {} open files (ulimit -n), have {now:?}", 4 * N);
}

/// A node process, killed (by its own id) when dropped.
struct NodeProcess {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl NodeProcess {
    fn start(name: &str, next: Option<&str>, dir: &Path) -> NodeProcess {
        let log = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctxflow-http-node"));
        cmd.args(["--name", name, "--log"]).arg(&log).args(["--max-seconds", "240"]);
        if let Some(next) = next {
            cmd.args(["--next", next]);
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening ").expect("node prints its address").to_owned();
        NodeProcess { child, addr, log }
    }

    fn lines(&self) -> Vec<HashMap<String, String>> {
        std::fs::read_to_string(&self.log).unwrap().lines().map(fields).collect()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `who k=v k=v ... baggage=rest` into a map (`who` under "who").
fn fields(line: &str) -> HashMap<String, String> {
    let (head, baggage) = line.split_once(" baggage=").unwrap();
    let mut map: HashMap<String, String> = head
        .split(' ')
        .skip(1)
        .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap())
        .collect();
    map.insert("who".into(), head.split(' ').next().unwrap().to_owned());
    map.insert("baggage".into(), baggage.to_owned());
    map
}

fn trace_of(i: usize) -> String {
    format!("{:032x}", 0x5ca1_ab1e_0000_0000_u64 + i as u64)
}

/// Checks one log line against request `i` (found through its request id).
fn check(line: &HashMap<String, String>, expected_who: &[&str], hops: &[&str]) -> usize {
    assert!(expected_who.contains(&line["who"].as_str()), "{line:?}");
    let i: usize = line["rid"].strip_prefix("r").unwrap().parse().unwrap();
    assert_eq!(line["trace"], trace_of(i), "trace crossed: {line:?}");
    assert_eq!(line["tenant"], format!("t{i}"), "declared variable crossed: {line:?}");
    let baggage: Baggage = line["baggage"].parse().unwrap();
    assert_eq!(baggage.get("n").as_deref(), Some(&*i.to_string()), "baggage crossed: {line:?}");
    assert_eq!(baggage.get("tenant").as_deref(), Some(&*format!("t{i}")));
    assert!(hops.contains(&line["hop"].as_str()), "declared hop: {line:?}");
    i
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_context_arrives_in_b_and_c_without_crossing() {
    raise_open_files_limit();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("two_processes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = NodeProcess::start("C", None, &dir);
    let b = NodeProcess::start("B", Some(&format!("http://{}/", c.addr)), &dir);

    let client = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..N {
        let client = client.clone();
        let url = format!("http://{}/", b.addr);
        let tp: TraceParent = format!("00-{}-00f067aa0ba902b7-01", trace_of(i)).parse().unwrap();
        let bindings = (
            TRACE.value(TraceContext::continued(tp, TraceState::new())),
            BAGGAGE.value(format!("tenant=t{i},n={i}").parse().unwrap()),
            REQUEST_ID.value(format!("r{i}").parse::<RequestId>().unwrap()),
        );
        set.spawn(ctxflow::scope(bindings, async move {
            let req = http::Request::get(url).body(Full::new(Bytes::new())).unwrap();
            client.oneshot(req).await.map(|res| res.status())
        }));
    }
    tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(status) = set.join_next().await {
            assert_eq!(status.unwrap().unwrap(), 200, "B answered with an error (a call to C failed)");
        }
    })
    .await
    .expect("1000 requests through B and C did not finish within the bound");

    // B answers only after both calls to C returned, so both logs are complete now.
    let b_lines = b.lines();
    let c_lines = c.lines();
    assert_eq!(b_lines.len(), 3 * N, "one request line and two child lines per request");
    assert_eq!(c_lines.len(), 2 * N, "two calls to C per request");
    let mut seen_b: HashMap<usize, usize> = HashMap::new();
    for line in &b_lines {
        *seen_b.entry(check(line, &["B", "B-child0", "B-child1"], &[""])).or_default() += 1;
    }
    let mut seen_c: HashMap<usize, HashSet<String>> = HashMap::new();
    let mut parents = HashSet::new();
    for line in &c_lines {
        let i = check(line, &["C"], &["B0", "B1"]);
        seen_c.entry(i).or_default().insert(line["hop"].clone());
        assert!(parents.insert(line["parent"].clone()), "every call to C has its own parent-id: {line:?}");
    }
    assert!((0..N).all(|i| seen_b.get(&i) == Some(&3)), "every request reached B once, with two children");
    let both: HashSet<String> = ["B0".to_owned(), "B1".to_owned()].into();
    assert!((0..N).all(|i| seen_c.get(&i) == Some(&both)), "every request reached C from both children");
    let _ = std::fs::remove_dir_all(&dir);
}
