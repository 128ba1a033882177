use clap::Parser;

// See Cargo.toml: musl's malloc costs a flood 50-75% more CPU.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    devloop::platform::tune_allocator();
    // devloop's own executable, started again as its watchdog.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == devloop::watchdog::ARG)
    {
        return devloop::watchdog::main();
    }
    devloop::app::main(devloop::cli::Cli::parse())
}
