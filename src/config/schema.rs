//! watch.toml as written: serde structs that reject unknown keys and keep the
//! spans the cross-field checks need to point at.

use super::duration::Dur;
use super::values::{EnvValue, OnChange, OnPromote, Restart, SignalName};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub watch: RawWatch,
    pub build: RawBuild,
    pub promote: Option<RawPromote>,
    #[serde(default)]
    pub process: BTreeMap<Spanned<String>, RawProcess>,
    #[serde(default)]
    pub ui: RawUi,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWatch {
    pub paths: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    pub debounce: Option<Spanned<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    pub command: Spanned<String>,
    pub output: Option<Spanned<String>>,
    pub timeout: Option<Spanned<Dur>>,
    #[serde(default)]
    pub on_change: OnChange,
    #[serde(default)]
    pub persistent: bool,
    pub done: Option<Spanned<String>>,
    pub failed: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPromote {
    pub target: Spanned<String>,
    pub keep: Option<usize>,
    #[serde(default)]
    pub require: Vec<Spanned<String>>,
    pub auto_rollback: Option<Spanned<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProcess {
    pub command: Spanned<String>,
    pub cwd: Option<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, EnvValue>,
    #[serde(default)]
    pub after: Vec<Spanned<String>>,
    #[serde(default)]
    pub restart: Restart,
    #[serde(default)]
    pub on_promote: OnPromote,
    pub port: Option<u16>,
    pub proxy: Option<Spanned<bool>>,
    pub start_timeout: Option<Spanned<Dur>>,
    pub health: Option<Spanned<RawHealth>>,
    pub stop_signal: Option<SignalName>,
    pub stop_timeout: Option<Spanned<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub http: Option<String>,
    pub tcp: Option<u16>,
    pub exec: Option<String>,
    pub interval: Option<Spanned<Dur>>,
    pub timeout: Option<Spanned<Dur>>,
    pub retries: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    pub scrollback: Option<usize>,
}
