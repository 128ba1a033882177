//! Configuration errors that point at the file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One value of watch.toml that cannot be used, before it is placed in the
/// file (a `ConfigError` adds where).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("unknown signal `{text}` (expected one of {expected})")]
    UnknownSignal { text: String, expected: String },
    #[error("invalid glob `{text}`: {reason}")]
    InvalidGlob { text: String, reason: String },
    #[error(
        "invalid duration `{0}`: write a number and a unit (ms, s, m or h), like \"500ms\", \"10s\" or \"5m\""
    )]
    InvalidDuration(String),
    #[error("duration `{0}` is too long")]
    DurationTooLong(String),
    #[error("program `{program}` not found (looked for {})", path.display())]
    ProgramMissing { program: String, path: PathBuf },
    #[error("program `{program}` not found in {} or on PATH", bin.display())]
    ProgramNotOnPath { program: String, bin: PathBuf },
}

/// A configuration problem, located in watch.toml where it can be.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: PathBuf,
    pub location: Option<Location>,
    pub message: String,
}

/// Where in the file: 1-based line and column, and the text of that line.
#[derive(Debug, Clone)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    pub source_line: String,
}

impl ConfigError {
    /// An error that has no place in the file (it cannot be read, say).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            location: None,
            message: message.into(),
        }
    }

    /// An error at a byte span of the file's text.
    pub fn at(file: &Path, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            location: Some(locate(text, span.start)),
            message: message.into(),
        }
    }
}

fn locate(text: &str, offset: usize) -> Location {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    Location {
        line: before.matches('\n').count() + 1,
        column: text[line_start..offset].chars().count() + 1,
        source_line: text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string(),
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.location {
            None => write!(f, "{file}: {}", self.message),
            Some(at) => {
                writeln!(f, "{file}:{}:{}: {}", at.line, at.column, self.message)?;
                let gutter = at.line.to_string().len();
                writeln!(f, "{:gutter$} |", "")?;
                writeln!(f, "{} | {}", at.line, at.source_line)?;
                write!(f, "{:gutter$} | {:>col$}", "", "^", col = at.column)
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_column() {
        let text = "[watch]\npaths = [\"libs\"]\ndebounse = \"1s\"\n";
        let start = text.find("debounse").unwrap();
        let error = ConfigError::at(
            Path::new("watch.toml"),
            text,
            start..start + 8,
            "unknown key",
        );
        let shown = error.to_string();
        assert!(shown.starts_with("watch.toml:3:1: unknown key"), "{shown}");
        assert!(shown.contains("3 | debounse = \"1s\""), "{shown}");
    }

    #[test]
    fn counts_columns_in_characters() {
        let text = "a = \"é\" x";
        let error = ConfigError::at(Path::new("w.toml"), text, 9..10, "here");
        let at = error.location.unwrap();
        assert_eq!((at.line, at.column), (1, 9));
    }
}
