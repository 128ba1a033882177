//! An inotify queue overflow. The tests shrink the kernel's queue size, a machine-wide setting, while devloop starts (common/tiny_queue.rs takes turns); they need root.

#[path = "../common/mod.rs"]
mod common;

mod after_failure;
mod builds;
