//! Reading the workspace's JSON files the way nx does: comments and trailing
//! commas are allowed, and a file that cannot be read is a warning, never fatal.

use serde_json::Value;
use std::path::Path;

/// A workspace JSON file that init goes on without; its text is the
/// one-line warning it prints.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: cannot read it ({source}), skipped")]
    Unreadable {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: not valid JSON ({message}), skipped")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads `root/relative` as JSON. `Ok(None)`: the file does not exist.
/// `Err`: a one-line warning naming the file (and line and column for a
/// syntax error), for the caller to print and go on without the file.
pub fn read(root: &Path, relative: &Path) -> Result<Option<Value>, ReadError> {
    let file = relative.display().to_string();
    let text = match std::fs::read_to_string(root.join(relative)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ReadError::Unreadable { file, source }),
    };
    serde_json::from_str(&strip_jsonc(&text))
        .map(Some)
        .map_err(|e| {
            // serde_json's message ends with " at line L column C": say it once.
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or_default();
            ReadError::Syntax {
                file,
                line: e.line(),
                column: e.column(),
                message: message.to_string(),
            }
        })
}

/// JSON with comments and trailing commas (as nx and tsconfig accept it) as
/// plain JSON. Removed text becomes spaces, so that lines and columns of any
/// remaining error still point into the original file.
pub fn strip_jsonc(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    // Where a comma was written, and whether only blanks followed it since.
    let mut pending_comma: Option<usize> = None;
    while at < chars.len() {
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        if c == '"' {
            pending_comma = None;
            let start = at;
            at += 1;
            while at < chars.len() && chars[at] != '"' {
                at += if chars[at] == '\\' { 2 } else { 1 };
            }
            at = (at + 1).min(chars.len());
            out.extend(&chars[start..at]);
            continue;
        }
        if c == '/' && next == Some('/') {
            while at < chars.len() && chars[at] != '\n' {
                out.push(' ');
                at += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let end = (at + 2..chars.len().saturating_sub(1))
                .find(|&i| chars[i] == '*' && chars[i + 1] == '/')
                .map_or(chars.len(), |i| i + 2);
            for &skipped in &chars[at..end] {
                out.push(if skipped == '\n' { '\n' } else { ' ' });
            }
            at = end;
            continue;
        }
        if (c == '}' || c == ']')
            && let Some(comma) = pending_comma.take()
        {
            out.replace_range(comma..comma + 1, " ");
        }
        if c == ',' {
            pending_comma = Some(out.len());
        } else if !c.is_whitespace() {
            pending_comma = None;
        }
        out.push(c);
        at += 1;
    }
    out
}

/// `value[key]` as a string, if it is one.
pub fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_trailing_commas_are_accepted() {
        let text =
            "{\n  // a comment\n  \"a\": \"x // not a comment\", /* b */\n  \"b\": [1, 2,],\n}\n";
        let value: Value = serde_json::from_str(&strip_jsonc(text)).unwrap();
        assert_eq!(value["a"], "x // not a comment");
        assert_eq!(value["b"], serde_json::json!([1, 2]));
    }

    #[test]
    fn a_syntax_error_keeps_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p.json"),
            "{\n  /* x */ \"a\": 1\n  \"b\": 2\n}",
        )
        .unwrap();
        let warning = read(dir.path(), Path::new("p.json")).unwrap_err();
        assert!(
            matches!(
                warning,
                ReadError::Syntax {
                    line: 3,
                    column: 3,
                    ..
                }
            ),
            "{warning:?}"
        );
        assert!(
            warning
                .to_string()
                .starts_with("p.json:3:3: not valid JSON"),
            "{warning}"
        );
        assert!(matches!(
            read(dir.path(), Path::new("missing.json")),
            Ok(None)
        ));
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for text in ["\"abc\\", "/* open", "{\"a\": \"b", "\\", "[,", "//"] {
            let _ = strip_jsonc(text);
        }
    }
}
