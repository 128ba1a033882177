//! Promotion: copies, generations, recovery, rollback, readers that never see a partial target, the nudge, a full disk, and the command line.

#[path = "../common/mod.rs"]
mod common;
#[path = "../promote_common/mod.rs"]
mod promote_common;

mod auto_rollback;
mod basic;
mod cli;
mod crash;
mod full_disk;
mod nudge;
mod readers;
mod recover;
mod rollback;
