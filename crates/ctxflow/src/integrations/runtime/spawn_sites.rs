//! Spawn sites whose tasks start with an empty context.
//!
//! Libraries spawn some tasks lazily, on first use, and keep them for the life of a connection,
//! a pool or a service: hyper-util's connection and pool tasks, tower's `Buffer` worker,
//! tonic's channel workers, axum's per-connection tasks. Spawned inside whichever request
//! happened to need them first, they would inherit that request's context and keep it, and
//! everything they do later for other requests would carry it. Such a task is never part of one
//! request, so it starts with nothing instead. tokio names every spawn's source location (the
//! caller of `tokio::spawn`, through `#[track_caller]`), and a crate's sources live under a
//! directory named after it, so a site is a crate and a path inside it.

use std::borrow::Cow;

/// Which spawn sites give their tasks an empty context on a runtime built with
/// [`propagate_context_except`](super::BuilderExt::propagate_context_except).
///
/// [`library_defaults`](SpawnSites::library_defaults) lists the long-lived tasks of the
/// libraries below; [`start_empty`](SpawnSites::start_empty) adds your own.
///
/// | crate | path | tasks |
/// |---|---|---|
/// | `hyper-util` | everything | client connections and pool, server connections |
/// | `hyper`, `h2` | everything | connection drivers |
/// | `tower` | `src/buffer/`, `src/spawn_ready/` | `Buffer`'s worker, `SpawnReady`'s readiness tasks |
/// | `tonic` | `src/transport/` | channel and connection workers |
/// | `axum` | `src/serve/` | per-connection tasks of `axum::serve` |
/// | `reqwest` | `src/blocking/` | the blocking client's runtime thread tasks |
///
/// ```
/// use ctxflow::runtime::SpawnSites;
/// let sites = SpawnSites::library_defaults().start_empty("my-pool", "src/worker/");
/// # let _ = sites;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpawnSites {
    sites: Vec<(String, String)>,
}

impl SpawnSites {
    /// No site: every task inherits.
    ///
    /// ```
    /// let sites = ctxflow::runtime::SpawnSites::none();
    /// # let _ = sites;
    /// ```
    pub fn none() -> SpawnSites {
        SpawnSites::default()
    }

    /// The long-lived tasks of the libraries in the table above.
    ///
    /// ```
    /// let sites = ctxflow::runtime::SpawnSites::library_defaults();
    /// # let _ = sites;
    /// ```
    pub fn library_defaults() -> SpawnSites {
        [
            ("hyper-util", ""),
            ("hyper", ""),
            ("h2", ""),
            ("tower", "src/buffer/"),
            ("tower", "src/spawn_ready/"),
            ("tonic", "src/transport/"),
            ("axum", "src/serve/"),
            ("reqwest", "src/blocking/"),
        ]
        .into_iter()
        .fold(SpawnSites::none(), |sites, (krate, path)| sites.start_empty(krate, path))
    }

    /// Tasks spawned from crate `krate`'s sources under `path` (relative to the crate's root,
    /// `""` for all of them) start with an empty context.
    ///
    /// ```
    /// let sites = ctxflow::runtime::SpawnSites::none().start_empty("bb8", "");
    /// # let _ = sites;
    /// ```
    pub fn start_empty(mut self, krate: &str, path: &str) -> SpawnSites {
        self.sites.push((krate.to_owned(), path.to_owned()));
        self
    }

    /// Whether no site is listed: every task inherits.
    pub(crate) fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// Whether a task spawned from source file `file` starts empty. (Answers are cached per
    /// runtime and thread by `site_filter.rs`.)
    pub(crate) fn lists(&self, file: &str) -> bool {
        let file = if file.contains('\\') { Cow::Owned(file.replace('\\', "/")) } else { Cow::Borrowed(file) };
        self.sites.iter().any(|(krate, path)| in_crate(&file, krate, path))
    }
}

/// Whether `file` (with `/` as separator) lies under `path` in the sources of crate `krate`: a
/// directory named `krate`, or `krate-<version>` as in cargo's registry, then `path`.
fn in_crate(file: &str, krate: &str, path: &str) -> bool {
    let mut rest = file;
    while let Some(at) = rest.find(krate) {
        let before_ok = at == 0 || rest.as_bytes()[at - 1] == b'/';
        let after = &rest[at + krate.len()..];
        let dir_end = match after.strip_prefix('-') {
            Some(version) if version.starts_with(|c: char| c.is_ascii_digit()) => version.find('/').map(|i| i + 1),
            _ => after.starts_with('/').then_some(0),
        };
        if before_ok && let Some(end) = dir_end {
            let inside = &after[end..].trim_start_matches('/');
            if inside.starts_with(path) {
                return true;
            }
        }
        rest = &rest[at + krate.len()..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{SpawnSites, in_crate};

    const REGISTRY: &str = "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";

    #[test]
    fn a_site_is_a_crate_directory_then_a_path() {
        let buffer = format!("{REGISTRY}/tower-0.5.2/src/buffer/service.rs");
        assert!(in_crate(&buffer, "tower", "src/buffer/"));
        assert!(in_crate(&buffer, "tower", ""));
        assert!(!in_crate(&buffer, "tower", "src/limit/"));
        assert!(!in_crate(&buffer, "tower-http", ""), "another crate");
        let util = format!("{REGISTRY}/hyper-util-0.1.14/src/rt/tokio.rs");
        assert!(in_crate(&util, "hyper-util", ""));
        assert!(!in_crate(&util, "hyper", ""), "hyper-util is not hyper");
        assert!(in_crate("/home/me/vendor/hyper/src/proto/h1/dispatch.rs", "hyper", ""), "a path dependency");
        let windows = SpawnSites::none().start_empty("h2", "src/");
        assert!(windows.lists("C:\\deps\\h2-0.4.8\\src\\client.rs"), "Windows paths");
        assert!(!in_crate("src/my_hyper/main.rs", "hyper", ""));
        assert!(!in_crate("/x/hyperspace-1.0/src/a.rs", "hyper", ""));
    }
}
