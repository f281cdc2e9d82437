//! Why a resource could not be created.

use std::fmt;

/// Why an [`AsyncResource`](crate::AsyncResource) could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceError {
    /// The resource kind was the empty string; hooks and diagnostics need a name.
    EmptyKind,
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceError::EmptyKind => f.write_str("an AsyncResource needs a non-empty kind"),
        }
    }
}

impl std::error::Error for ResourceError {}
