//! The watch-and-build loop: one build per burst, excludes, skipped builds, cancelling, snapshots.

#[path = "../common/mod.rs"]
mod common;

mod build;
mod cancel;
mod snapshot;
