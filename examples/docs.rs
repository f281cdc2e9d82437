//! The repository's documentation, compiled: every `rust` snippet of docs/*.md and the README
//! runs as a doctest of this (unpublished) crate, which depends on everything they use.

/// docs/automatic-propagation.md
#[cfg(doctest)]
#[doc = include_str!("../docs/automatic-propagation.md")]
pub struct AutomaticPropagation;

/// docs/hooks.md
#[cfg(doctest)]
#[doc = include_str!("../docs/hooks.md")]
pub struct Hooks;

/// docs/http.md
#[cfg(doctest)]
#[doc = include_str!("../docs/http.md")]
pub struct Http;

/// docs/logging.md
#[cfg(doctest)]
#[doc = include_str!("../docs/logging.md")]
pub struct Logging;

/// docs/messaging.md
#[cfg(doctest)]
#[doc = include_str!("../docs/messaging.md")]
pub struct Messaging;

/// docs/opentelemetry.md
#[cfg(doctest)]
#[doc = include_str!("../docs/opentelemetry.md")]
pub struct OpenTelemetry;

/// The README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct Readme;
