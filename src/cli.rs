//! The command line (SPEC section 1).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "devloop",
    version,
    about = "Watch library sources, build, promote dist/libs atomically, supervise dev servers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CommandName>,
    /// Configuration file [default: ./watch.toml]
    #[arg(short, long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// No TUI: line output (implied when stdout is not a terminal)
    #[arg(long, global = true)]
    pub headless: bool,
    /// One JSON event per line on stdout (implies --headless)
    #[arg(long, global = true)]
    pub json: bool,
    /// No ANSI colour (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum CommandName {
    /// Watch, build, promote, supervise (the default)
    Run,
    /// One build and promotion, then exit (1 if either failed)
    Build,
    /// Validate the configuration, resolve commands, and exit
    Check,
    /// Write a starter watch.toml for the workspace in the current directory
    /// (never overwrites one: exit 2 unless --force)
    Init {
        /// Replace an existing configuration file
        #[arg(long)]
        force: bool,
        /// Also make the project.json and tsconfig.json changes the setup
        /// needs (shown as a diff; a file that does not parse is left alone)
        #[arg(long)]
        apply: bool,
    },
    /// Put the previous promoted generation back into place
    Rollback,
    /// A second view of the devloop running in the workspace: the same TUI,
    /// read-only unless --control (--json: its events as NDJSON)
    Attach {
        /// Keys that change something act on the running devloop
        #[arg(long)]
        control: bool,
    },
    /// One snapshot of the running devloop: build, generation, processes
    /// (exit 1 when none runs)
    Status,
}

impl Cli {
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_FILE))
    }

    /// Colour is on for a terminal unless --no-color or NO_COLOR says
    /// otherwise; JSON has none.
    pub fn color(&self) -> bool {
        use std::io::IsTerminal;
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        !self.no_color && !no_color_env && !self.json && std::io::stdout().is_terminal()
    }
}
