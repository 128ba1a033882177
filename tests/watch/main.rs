//! The watch-and-build loop: one build per burst, excludes, skipped builds, cancelling, snapshots,
//! editors' saves and git's bursts.

#[path = "../common/mod.rs"]
mod common;

mod build;
mod cancel;
mod editors;
mod snapshot;
