//! `[build] persistent = true`: the regexes that split a watch-mode
//! compiler's output into cycles, from watch.toml or from a preset.

use super::error::ConfigError;
use super::schema::RawBuild;
use super::validate::Checker;
use crate::warm::presets::{PRESETS, compile, preset_for};
use regex_automata::meta::Regex;
use toml::Spanned;

/// A warm build's cycle lines (matched against lines without ANSI colour).
#[derive(Debug, Clone)]
pub struct WarmConfig {
    pub done: Regex,
    pub failed: Option<Regex>,
    /// A preset's start line, when the preset gave done.
    pub start: Option<Regex>,
    /// Only a start line opens a cycle after the first (see the presets).
    pub only_start_opens: bool,
    /// The patterns as written (or filled in), for `check`.
    pub done_pattern: String,
    pub failed_pattern: Option<String>,
    /// The preset that filled in what watch.toml left out.
    pub preset: Option<&'static str>,
}

pub(super) fn warm_config(
    check: &Checker,
    raw: &RawBuild,
) -> Result<Option<WarmConfig>, ConfigError> {
    if !raw.persistent {
        if let Some(value) = raw.done.as_ref().or(raw.failed.as_ref()) {
            return Err(check.error(
                value.span(),
                "build.done and build.failed apply only to a warm build: add `persistent = true` (the command keeps running and rebuilds by itself)",
            ));
        }
        return Ok(None);
    }
    let preset = preset_for(raw.command.get_ref());
    let done_pattern = match (&raw.done, preset) {
        (Some(value), _) => value.get_ref().clone(),
        (None, Some(preset)) => preset.done.to_string(),
        (None, None) => String::new(),
    };
    let failed_pattern = match (&raw.failed, preset) {
        (Some(value), _) => Some(value.get_ref().clone()),
        (None, Some(preset)) => Some(preset.failed.to_string()),
        (None, None) => None,
    };
    let done = match (&raw.done, preset) {
        (Some(value), _) => regex(check, value, "build.done")?,
        (None, Some(preset)) => compile(preset.done).expect("preset regexes compile"),
        (None, None) => {
            let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
            return Err(check.error(
                raw.command.span(),
                format!(
                    "persistent = true needs build.done, a regex for the line that ends each build cycle (like 'Watching for file changes'): the command matches no preset ({})",
                    known.join(", ")
                ),
            ));
        }
    };
    let failed = match (&raw.failed, preset) {
        (Some(value), _) => Some(regex(check, value, "build.failed")?),
        (None, Some(preset)) => Some(compile(preset.failed).expect("preset regexes compile")),
        (None, None) => None,
    };
    let filled = raw.done.is_none() || raw.failed.is_none();
    let start = preset
        .filter(|_| raw.done.is_none())
        .and_then(|p| p.start)
        .map(|start| compile(start).expect("preset regexes compile"));
    let only_start_opens = start.is_some() && preset.is_some_and(|p| p.only_start_opens);
    Ok(Some(WarmConfig {
        start,
        only_start_opens,
        done,
        failed,
        done_pattern,
        failed_pattern,
        preset: preset.filter(|_| filled).map(|p| p.name),
    }))
}

fn regex(check: &Checker, value: &Spanned<String>, what: &str) -> Result<Regex, ConfigError> {
    if value.get_ref().is_empty() {
        return Err(check.error(
            value.span(),
            format!("{what} is empty: it would match every line"),
        ));
    }
    compile(value.get_ref())
        .map_err(|e| check.error(value.span(), format!("{what} is not a valid regex: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    fn parse(build: &str) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("devloop-warm-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("libs")).unwrap();
        let text = format!("[watch]\npaths = [\"libs\"]\n[build]\n{build}\noutput = \"tmp/out\"\n");
        Config::parse(&dir.join("watch.toml"), &text)
    }

    #[test]
    fn a_known_compiler_needs_no_regexes_and_says_which_preset_filled_them() {
        let config = parse("command = \"env tsc -b -w\"\npersistent = true").unwrap();
        let warm = config.build.warm.unwrap();
        assert_eq!(warm.preset, Some("tsc --watch"));
        assert!(
            warm.done
                .is_match("[1:00:00 AM] Found 0 errors. Watching for file changes.")
        );
        assert!(
            warm.failed
                .unwrap()
                .is_match("a.ts(1,1): error TS1005: ';' expected.")
        );
        let own =
            parse("command = \"env tsc -w\"\npersistent = true\ndone = 'ready'\nfailed = 'boom'")
                .unwrap();
        assert_eq!(
            own.build.warm.unwrap().preset,
            None,
            "nothing was filled in"
        );
        assert!(
            parse("command = \"env tsc -b\"")
                .unwrap()
                .build
                .warm
                .is_none()
        );
    }

    #[test]
    fn mistakes_are_located_and_explained() {
        let error = parse("command = \"env mytool\"\npersistent = true").unwrap_err();
        assert!(
            error.message.contains("needs build.done"),
            "{}",
            error.message
        );
        assert!(error.to_string().contains(":4:"), "{error}");
        let error = parse("command = \"true\"\ndone = 'x'").unwrap_err();
        assert!(
            error.message.contains("persistent = true"),
            "{}",
            error.message
        );
        let error = parse("command = \"true\"\npersistent = true\ndone = 'a('").unwrap_err();
        assert!(
            error.message.contains("not a valid regex"),
            "{}",
            error.message
        );
        assert!(error.to_string().contains(":6:"), "{error}");
        let error = parse("command = \"true\"\npersistent = true\ndone = ''").unwrap_err();
        assert!(error.message.contains("empty"), "{}", error.message);
    }
}
