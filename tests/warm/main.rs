//! Warm builds against real compilers: tsc, nx, tsup, esbuild, vite; quiet checks and readers.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/npm.rs"]
mod npm;
#[path = "../common/nx.rs"]
mod nx;

mod nx_watch;
mod quiet;
mod readers;
mod rollback;
mod tools;
mod tsc;
