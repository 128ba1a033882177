//! The small typed values of watch.toml, each checked as it is read so that
//! serde's error carries the value's span.

use super::ValueError;
use globset::{Glob, GlobBuilder};
use rustix::process::Signal;
use serde::Deserialize;
use serde::de::{Deserializer, Error};
use std::fmt;

/// A signal named in the configuration (`"SIGTERM"` or `"TERM"`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignalName {
    pub name: &'static str,
    pub signal: Signal,
}

const SIGNALS: &[(&str, Signal)] = &[
    ("SIGTERM", Signal::TERM),
    ("SIGINT", Signal::INT),
    ("SIGHUP", Signal::HUP),
    ("SIGQUIT", Signal::QUIT),
    ("SIGKILL", Signal::KILL),
    ("SIGUSR1", Signal::USR1),
    ("SIGUSR2", Signal::USR2),
    ("SIGWINCH", Signal::WINCH),
];

impl SignalName {
    pub const TERM: SignalName = SignalName {
        name: "SIGTERM",
        signal: Signal::TERM,
    };

    pub fn parse(text: &str) -> Result<SignalName, ValueError> {
        let upper = text.trim().to_ascii_uppercase();
        let full = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        SIGNALS
            .iter()
            .find(|(name, _)| *name == full)
            .map(|&(name, signal)| SignalName { name, signal })
            .ok_or_else(|| {
                let names: Vec<&str> = SIGNALS.iter().map(|(name, _)| *name).collect();
                ValueError::UnknownSignal {
                    text: text.to_string(),
                    expected: names.join(", "),
                }
            })
    }
}

impl fmt::Debug for SignalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl<'de> Deserialize<'de> for SignalName {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        SignalName::parse(&String::deserialize(de)?).map_err(D::Error::custom)
    }
}

/// What a running process gets after each promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnPromote {
    #[default]
    None,
    Restart,
    Signal(SignalName),
}

impl<'de> Deserialize<'de> for OnPromote {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        match text.as_str() {
            "none" => Ok(OnPromote::None),
            "restart" => Ok(OnPromote::Restart),
            other => match other.strip_prefix("signal:") {
                Some(name) => SignalName::parse(name)
                    .map(OnPromote::Signal)
                    .map_err(D::Error::custom),
                None => Err(D::Error::custom(format!(
                    "invalid on_promote `{text}`: expected \"none\", \"restart\" or \"signal:NAME\" (like \"signal:SIGHUP\")"
                ))),
            },
        }
    }
}

/// When a supervised process is started again after it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    #[default]
    Always,
    OnFailure,
    Never,
}

impl Restart {
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::Never => "never",
        }
    }
}

/// What a change during a running build does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnChange {
    /// Let the build finish, then build once more.
    #[default]
    Queue,
    /// Cancel the build and start again.
    Restart,
}

impl OnChange {
    pub fn as_str(self) -> &'static str {
        match self {
            OnChange::Queue => "queue",
            OnChange::Restart => "restart",
        }
    }
}

/// A glob from `include`/`exclude`, compiled as it is read.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub glob: Glob,
}

impl Pattern {
    /// Patterns match workspace-relative paths; one without a `/` matches a
    /// name at any depth, as in .gitignore.
    pub fn parse(text: &str) -> Result<Pattern, ValueError> {
        let trimmed = text.trim_start_matches("./");
        let anchored = if trimmed.contains('/') {
            trimmed.trim_start_matches('/').to_string()
        } else {
            format!("**/{trimmed}")
        };
        let glob = GlobBuilder::new(&anchored)
            .literal_separator(true)
            .build()
            .map_err(|e| ValueError::InvalidGlob {
                text: text.to_string(),
                reason: e.kind().to_string(),
            })?;
        Ok(Pattern {
            text: text.to_string(),
            glob,
        })
    }
}

/// An environment value: strings, and numbers or booleans written bare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Bool(bool),
            Float(f64),
        }
        let text = match Raw::deserialize(de)
            .map_err(|_| D::Error::custom("an env value must be a string, number or boolean"))?
        {
            Raw::Text(text) => text,
            Raw::Int(n) => n.to_string(),
            Raw::Bool(b) => b.to_string(),
            Raw::Float(x) => x.to_string(),
        };
        Ok(EnvValue(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_with_or_without_prefix() {
        assert_eq!(SignalName::parse("SIGHUP").unwrap().signal, Signal::HUP);
        assert_eq!(SignalName::parse("term").unwrap().name, "SIGTERM");
        assert!(
            SignalName::parse("SIGBOGUS")
                .unwrap_err()
                .to_string()
                .contains("SIGTERM")
        );
    }

    #[test]
    fn bare_patterns_match_at_any_depth() {
        let pattern = Pattern::parse("*.spec.ts").unwrap().glob.compile_matcher();
        assert!(pattern.is_match("libs/a/src/x.spec.ts"));
        assert!(pattern.is_match("x.spec.ts"));
        let rooted = Pattern::parse("libs/*.ts").unwrap().glob.compile_matcher();
        assert!(rooted.is_match("libs/a.ts"));
        assert!(!rooted.is_match("libs/a/b.ts"), "* must not cross /");
    }

    #[test]
    fn bad_glob_is_an_error() {
        assert!(Pattern::parse("libs/[a-").is_err());
    }
}
