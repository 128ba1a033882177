//! Supervision end to end: start order, health, restarts, the proxy, stopping, the watchdog.

#[path = "../common/mod.rs"]
mod common;

mod health;
mod proxy;
mod reload;
mod restart;
mod start;
mod stop;
