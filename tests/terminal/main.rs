//! The TUI in a real terminal (tmux), attach viewers (hostile ones too), and an output nobody reads.

#[path = "../common/mod.rs"]
mod common;

mod attach;
mod hostile;
mod pairing;
mod panes;
mod stalled_output;
mod tui;
