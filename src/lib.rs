//! devloop: watch library sources, build, promote the output atomically, and
//! supervise the dev servers that import it.

pub mod advice;
pub mod app;
pub mod attach;
pub mod build;
pub mod check;
pub mod child;
pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod escapes;
pub mod event;
pub mod headless;
pub mod init;
pub mod lines;
pub mod lock;
pub mod nx_tasks;
pub mod oneshot;
pub mod platform;
pub mod promote;
pub mod ring;
pub mod share;
pub mod snapshot;
pub mod supervise;
pub mod ui;
pub mod warm;
pub mod watch;
pub mod watchdog;
