//! A server in a child process: started from a program that prints `PORT <n>` once it listens,
//! killed when dropped. The HTTP probes run each variant this way, so that its CPU time is its
//! own, and the stack test does the same. [`listen_and_serve`] is the child's half.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running child server; killed and reaped when dropped.
pub struct ChildServer {
    child: Child,
    port: u16,
}

impl ChildServer {
    /// Runs `program args...` and waits for its `PORT <n>` line; `None` if it does not start.
    pub fn start(program: &Path, args: &[&str]) -> Option<ChildServer> {
        let mut child = Command::new(program).args(args).stdout(Stdio::piped()).spawn().ok()?;
        let stdout = child.stdout.take();
        // Killed if the port never comes.
        let mut server = ChildServer { child, port: 0 };
        let mut line = String::new();
        BufReader::new(stdout?).read_line(&mut line).ok()?;
        server.port = line.trim().strip_prefix("PORT ")?.parse().ok()?;
        Some(server)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The child's half: on a runtime of one tokio worker (so that the process's CPU time is one
/// worker's), binds a loopback port, prints `PORT <n>` and runs `serve` on the listener.
pub fn listen_and_serve<F: Future<Output = ()>>(serve: impl FnOnce(tokio::net::TcpListener) -> F) {
    listen_and_serve_on(one_worker().enable_all().build().expect("a runtime"), serve);
}

/// A builder of the one-worker runtime [`listen_and_serve`] runs on, for a variant that needs
/// more from it (ctxflow's automatic propagation).
pub fn one_worker() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1);
    builder
}

/// [`listen_and_serve`] on `rt`.
pub fn listen_and_serve_on<F: Future<Output = ()>>(
    rt: tokio::runtime::Runtime,
    serve: impl FnOnce(tokio::net::TcpListener) -> F,
) {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        println!("PORT {}", listener.local_addr().expect("an address").port());
        serve(listener).await
    });
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
