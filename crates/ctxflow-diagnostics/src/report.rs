//! Human-readable views of the live resource registry: the tree of who created what, and the
//! leak report.
//!
//! Both are plain values with a `Display`, taken at one moment, so a user can print them, log
//! them, or inspect the entries in a test.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use super::registry::{self, ResourceInfo};
use ctxflow::AsyncId;

/// The live resources as a tree by trigger, from [`dump`].
#[derive(Debug, Clone)]
pub struct Dump {
    resources: Vec<ResourceInfo>,
}

/// Takes a [`Dump`] of the live resources (recorded since
/// [`registry::enable`](super::registry::enable)). Print it to see the tree.
///
/// ```
/// use ctxflow_diagnostics::{self as diagnostics, registry};
/// registry::enable();
/// let conn = ctxflow::AsyncResource::new("connection");
/// let query = conn.sync_run(|| ctxflow::AsyncResource::new("query"));
/// let text = diagnostics::dump().to_string();
/// // `query` hangs under `connection`, which hangs under the root:
/// //   connection #1026  at src/main.rs:4:12  age 15µs
/// //   └── query #1027  at src/main.rs:5:34  age 9µs
/// assert!(text.contains(&format!("└── query #{}", query.id())));
/// ```
pub fn dump() -> Dump {
    Dump { resources: registry::live() }
}

impl Dump {
    /// The resources in the dump, oldest first.
    ///
    /// ```
    /// let _ = ctxflow_diagnostics::dump().resources().len();
    /// ```
    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }
}

fn describe(r: &ResourceInfo) -> String {
    let mut line = format!("{} #{}  at {}  age {:.1?}", r.kind, r.id, r.location, r.age());
    if !r.variables.is_empty() {
        line.push_str(&format!("  vars [{}]", r.variables.join(", ")));
    }
    line
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live: HashSet<AsyncId> = self.resources.iter().map(|r| r.id).collect();
        let mut children: HashMap<AsyncId, Vec<&ResourceInfo>> = HashMap::new();
        // Resources whose creator is gone (or untracked) start a tree, grouped by that creator.
        let mut orphans: BTreeMap<AsyncId, Vec<&ResourceInfo>> = BTreeMap::new();
        for r in &self.resources {
            let group = if live.contains(&r.trigger) {
                children.entry(r.trigger).or_default()
            } else {
                orphans.entry(r.trigger).or_default()
            };
            group.push(r);
        }
        writeln!(f, "{} live resources", self.resources.len())?;
        for (trigger, roots) in orphans {
            match trigger {
                AsyncId::ROOT => writeln!(f, "created at the top level (#1):")?,
                AsyncId::NONE => writeln!(f, "created with no trigger (#0):")?,
                t => writeln!(f, "created by #{t} (gone or not tracked):")?,
            }
            // Depth-first without recursion: a chain of resources can be thousands deep.
            let mut stack: Vec<(&ResourceInfo, String, bool)> =
                roots.iter().rev().enumerate().map(|(i, r)| (*r, String::new(), i == 0)).collect();
            while let Some((r, prefix, last)) = stack.pop() {
                let branch = if last { "└── " } else { "├── " };
                writeln!(f, "{prefix}{branch}{}", describe(r))?;
                let below = format!("{prefix}{}", if last { "    " } else { "│   " });
                if let Some(kids) = children.get(&r.id) {
                    stack.extend(kids.iter().rev().enumerate().map(|(i, k)| (*k, below.clone(), i == 0)));
                }
            }
        }
        Ok(())
    }
}

/// Resources alive for longer than a threshold, from [`leaks`], grouped by where they were
/// made: the "context never cleaned up" failure mode, found for the user.
#[derive(Debug, Clone)]
pub struct LeakReport {
    older_than: Duration,
    resources: Vec<ResourceInfo>,
}

/// The live resources (recorded since [`registry::enable`](super::registry::enable)) that are
/// older than `older_than`. At shutdown, after the runtime is dropped, `leaks(Duration::ZERO)`
/// lists everything still alive: each entry is a task, thread or `AsyncResource` (and the
/// context it holds) that was never released.
///
/// ```
/// use std::time::Duration;
/// use ctxflow_diagnostics::{self as diagnostics, registry};
/// registry::enable();
/// let forgotten = ctxflow::AsyncResource::new("forgotten-callback");
/// let report = diagnostics::leaks(Duration::ZERO);
/// assert!(report.resources().iter().any(|r| r.id == forgotten.id()));
/// eprintln!("{report}");
/// ```
pub fn leaks(older_than: Duration) -> LeakReport {
    let resources = registry::live().into_iter().filter(|r| r.age() > older_than).collect();
    LeakReport { older_than, resources }
}

impl LeakReport {
    /// Whether nothing is older than the threshold.
    ///
    /// ```
    /// let _ = ctxflow_diagnostics::leaks(std::time::Duration::from_secs(86_400)).is_empty();
    /// ```
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The old resources, oldest first.
    ///
    /// ```
    /// let _ = ctxflow_diagnostics::leaks(std::time::Duration::ZERO).resources().len();
    /// ```
    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resources.is_empty() {
            return writeln!(f, "no resource alive for more than {:?}", self.older_than);
        }
        writeln!(f, "{} resources alive for more than {:?}:", self.resources.len(), self.older_than)?;
        // One line per place, kind and variables; `resources` is oldest first, so the first
        // member of a group is its oldest.
        struct Group<'a> {
            kind: &'a str,
            location: String,
            vars: &'a [String],
            members: Vec<&'a ResourceInfo>,
        }
        let mut groups: Vec<Group<'_>> = Vec::new();
        for r in &self.resources {
            let location = r.location.to_string();
            match groups.iter_mut().find(|g| g.kind == r.kind && g.location == location && g.vars == r.variables) {
                Some(g) => g.members.push(r),
                None => groups.push(Group { kind: &r.kind, location, vars: &r.variables, members: vec![r] }),
            }
        }
        for g in groups {
            let oldest = g.members[0];
            write!(
                f,
                "  {} × {} at {}, oldest #{} age {:.1?}",
                g.members.len(),
                g.kind,
                g.location,
                oldest.id,
                oldest.age()
            )?;
            if !g.vars.is_empty() {
                write!(f, ", vars [{}]", g.vars.join(", "))?;
            }
            writeln!(f)?;
            if g.kind == "task" && !g.vars.is_empty() {
                write_spawn_site_hint(f, oldest.location.file())?;
            }
        }
        Ok(())
    }
}

/// For a task that holds a context long after it was spawned: the usual cause is a library's
/// long-lived task (a pool, a connection, a worker) that inherited the context of the request
/// that created it. Names the fix, with the crate and path when the file lies in cargo's
/// registry (`<crate>-<version>/<path>`).
fn write_spawn_site_hint(f: &mut fmt::Formatter<'_>, file: &str) -> fmt::Result {
    let file = file.replace('\\', "/");
    let in_registry = file.split('/').collect::<Vec<_>>();
    let site = in_registry.iter().enumerate().find_map(|(i, dir)| {
        let (name, version) = dir.rsplit_once('-')?;
        let mut numbers = version.split('.');
        let semver = numbers.by_ref().take(3).filter(|n| n.starts_with(|c: char| c.is_ascii_digit())).count() == 3;
        semver.then(|| {
            let inside = in_registry[i + 1..in_registry.len().saturating_sub(1)].join("/");
            (name.to_owned(), format!("{inside}/"))
        })
    });
    match site {
        Some((name, path)) => writeln!(
            f,
            "    a task spawned in a request keeps its context while it lives; if this is {name}'s long-lived \
             task, start it empty: SpawnSites::library_defaults().start_empty(\"{name}\", \"{path}\")"
        ),
        None => writeln!(
            f,
            "    a task spawned in a request keeps its context while it lives; if it outlives requests by \
             design, spawn it outside any context (Snapshot::empty().run) or list its site in SpawnSites"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    struct Hint(&'static str);

    impl fmt::Display for Hint {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            super::write_spawn_site_hint(f, self.0)
        }
    }

    #[test]
    fn the_hint_names_the_crate_and_path_of_a_registry_spawn_site() {
        let registry =
            Hint("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/hyper-util-0.1.21/src/rt/tokio.rs");
        assert!(registry.to_string().contains(r#"start_empty("hyper-util", "src/rt/")"#), "{registry}");
        let own = Hint("src/pool.rs");
        assert!(own.to_string().contains("Snapshot::empty().run"), "{own}");
    }
}
