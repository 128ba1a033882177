//! watch.toml: the schema, its defaults, and validation that points at the
//! file, line and column of every problem.

mod diff;
mod duration;
mod error;
mod program;
mod ranges;
mod schema;
mod suggest;
mod validate;
mod values;
mod warm;

pub use diff::Changes;
pub use duration::{format_duration, parse_duration};
pub use error::{ConfigError, Location, ValueError};
pub use program::{first_program, search_path};
pub use values::{OnChange, OnPromote, Pattern, Restart, SignalName};
pub use warm::WarmConfig;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file name looked for when `--config` is not given.
pub const DEFAULT_FILE: &str = "watch.toml";
/// devloop's own state (lock, records of children), in the workspace root.
pub const STATE_DIR: &str = ".devloop";

/// A loaded and checked configuration. Paths are workspace-relative.
#[derive(Debug, Clone)]
pub struct Config {
    /// watch.toml itself, absolute.
    pub file: PathBuf,
    /// The directory holding watch.toml; every relative path starts here.
    pub root: PathBuf,
    pub watch: WatchConfig,
    pub build: BuildConfig,
    pub promote: Option<PromoteConfig>,
    /// In the order of watch.toml, which is the order of the panes.
    pub processes: Vec<ProcessConfig>,
    pub ui: UiConfig,
    /// The file's values as written, to tell what a reload changed.
    pub values: toml::Table,
}

#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub paths: Vec<PathBuf>,
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
    pub debounce: Duration,
}

#[derive(Debug, Clone)]
pub struct BuildConfig {
    pub command: String,
    /// Where the first word of the command was found, when it could be read.
    pub program: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub timeout: Duration,
    pub on_change: OnChange,
    /// `persistent = true`: the command keeps running; its cycles are builds.
    pub warm: Option<WarmConfig>,
}

#[derive(Debug, Clone)]
pub struct PromoteConfig {
    pub target: PathBuf,
    pub keep: usize,
    pub require: Vec<PathBuf>,
    /// A process ready before a promotion that fails within this time rolls it back.
    pub auto_rollback: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct ProcessConfig {
    pub name: String,
    pub command: String,
    pub program: Option<PathBuf>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub after: Vec<Dependency>,
    pub restart: Restart,
    pub on_promote: OnPromote,
    pub port: Option<u16>,
    /// devloop holds `port` and forwards it to the instance serving.
    pub proxy: bool,
    /// How long a start may take to be ready before it counts as a failure.
    pub start_timeout: Duration,
    pub health: Option<Health>,
    pub stop_signal: SignalName,
    pub stop_timeout: Duration,
}

/// What a process waits for before its first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    /// The first successful promotion (or build, without `[promote]`).
    Build,
    /// Another process being ready.
    Process(String),
}

#[derive(Debug, Clone)]
pub struct Health {
    pub probe: Probe,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Http(String),
    Tcp(u16),
    Exec(String),
}

#[derive(Debug, Clone)]
pub struct UiConfig {
    pub scrollback: usize,
}

impl Config {
    /// Reads and checks a watch.toml.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let bytes = std::fs::read(file).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (write one with `devloop init`, or name another with --config)"
            } else {
                ""
            };
            ConfigError::whole_file(file, format!("cannot read the configuration: {e}{hint}"))
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            // Located at the first bad byte, like every other error.
            let good = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..good]);
            let message = "the configuration is not UTF-8 text from here on";
            ConfigError::at(file, &before, good..good, message)
        })?;
        let absolute = std::path::absolute(file)
            .map_err(|e| ConfigError::whole_file(file, format!("cannot resolve the path: {e}")))?;
        Config::parse(&absolute, &text)
    }

    /// Checks configuration text as if read from `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        validate::parse(file, text)
    }

    /// A workspace-relative path made absolute.
    pub fn abs(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }

    /// The build output, absolute, when watch.toml promotes it (has both
    /// `[build] output` and `[promote]`): what every driver's good build
    /// is promoted from.
    pub fn promoted_output(&self) -> Option<PathBuf> {
        self.promote.as_ref()?;
        self.build.output.as_ref().map(|output| self.abs(output))
    }

    /// devloop's state directory for this workspace.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }
}

#[cfg(test)]
mod tests;
