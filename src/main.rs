use clap::Parser;

fn main() -> std::process::ExitCode {
    devloop::app::main(devloop::cli::Cli::parse())
}
