//! watch.toml: errors located by file, line and column, random input, rules that make no sense.

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod fuzz;
mod rules;
