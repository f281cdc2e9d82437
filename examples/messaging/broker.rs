//! A NATS server of our own on a loopback port, stopped when dropped.
//!
//! The binary is `$NATS_SERVER`, else `nats-server` on the `PATH` (`scripts/nats-server.sh`
//! installs it). Port `-1` lets the server pick a free port, which it prints on stderr; reading
//! that line is also how we know it accepts connections.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Broker {
    child: Child,
    pub url: String,
}

impl Broker {
    pub fn start() -> Result<Broker, String> {
        let binary = std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let mut child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {binary:?} ({e}): run scripts/nats-server.sh to install it"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                return Err(format!("{binary} exited before listening"));
            };
            if let Some(at) = line.find("Listening for client connections on ") {
                let addr = line[at..].trim_start_matches("Listening for client connections on ").trim();
                break format!("nats://{addr}");
            }
        };
        // Keep draining its log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Broker { child, url })
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
