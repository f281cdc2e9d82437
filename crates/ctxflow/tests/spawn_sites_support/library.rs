//! Stands in for a library's pool code: its spawns are listed as sites whose tasks start empty.

/// Spawns a task that reports what it reads, from this file.
pub fn spawn_reading(read: fn() -> Option<u64>) -> tokio::task::JoinHandle<Option<u64>> {
    tokio::spawn(async move { read() })
}

/// This file's directory, as a spawn site's "crate".
pub fn directory() -> String {
    std::path::Path::new(file!()).parent().unwrap().to_str().unwrap().to_owned()
}
