//! The TUI in a real terminal (tmux), attach viewers, and an output nobody reads.

#[path = "../common/mod.rs"]
mod common;

mod attach;
mod pairing;
mod stalled_output;
mod tui;
