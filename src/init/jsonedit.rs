//! Edits to the workspace's JSON files (project.json, tsconfig.json) that
//! leave every other byte as the user wrote it: comments, key order, layout.
//! Values are inserted or replaced in place; the result is parsed again
//! before anything is written, so a file that does not parse is never touched.

use serde_json::Value;

/// Why a JSON file cannot be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("line {line} column {column}: {source}")]
    Syntax {
        line: usize,
        column: usize,
        source: serde_json::Error,
    },
    #[error("expected {what} at byte {at}")]
    Expected { what: &'static str, at: usize },
    #[error("unexpected end of file")]
    End,
    #[error("unterminated string")]
    Unterminated,
    #[error("a key that is not a JSON string: {0}")]
    Key(serde_json::Error),
    #[error("{0} is not an object")]
    NotAnObject(String),
    /// The text after the edit does not hold the value: a bug of the editor.
    #[error("the edit did not land")]
    NotLanded,
}

/// The byte range of a value in the text.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// One member of an object: where its key starts, and its value.
#[derive(Debug)]
struct Member {
    key: String,
    key_start: usize,
    value: Span,
}

struct Scanner<'a> {
    text: &'a [u8],
}

impl Scanner<'_> {
    /// Skips blanks and comments (JSONC, as nx and tsconfig allow them).
    fn blank(&self, mut at: usize) -> usize {
        let t = self.text;
        loop {
            while at < t.len() && t[at].is_ascii_whitespace() {
                at += 1;
            }
            if t[at..].starts_with(b"//") {
                while at < t.len() && t[at] != b'\n' {
                    at += 1;
                }
            } else if t[at..].starts_with(b"/*") {
                at += 2;
                while at < t.len() && !t[at..].starts_with(b"*/") {
                    at += 1;
                }
                at = (at + 2).min(t.len());
            } else {
                return at;
            }
        }
    }

    /// The end of the value starting at `at` (after blanks).
    fn value_end(&self, at: usize) -> Result<usize, EditError> {
        let t = self.text;
        match t.get(at) {
            Some(b'"') => self.string_end(at),
            Some(b'{') | Some(b'[') => {
                let close = if t[at] == b'{' { b'}' } else { b']' };
                let mut i = self.blank(at + 1);
                while t.get(i) != Some(&close) {
                    if t[at] == b'{' {
                        i = self.string_end(i)?;
                        i = self.blank(i);
                        if t.get(i) != Some(&b':') {
                            return Err(EditError::Expected { what: "':'", at: i });
                        }
                        i = self.blank(i + 1);
                    }
                    i = self.blank(self.value_end(i)?);
                    match t.get(i) {
                        Some(b',') => i = self.blank(i + 1),
                        Some(c) if *c == close => {}
                        _ => return Err(EditError::Expected { what: "','", at: i }),
                    }
                }
                Ok(i + 1)
            }
            Some(_) => {
                let mut i = at;
                while i < t.len() && !b",}] \t\r\n/".contains(&t[i]) {
                    i += 1;
                }
                if i == at {
                    return Err(EditError::Expected {
                        what: "a value",
                        at,
                    });
                }
                Ok(i)
            }
            None => Err(EditError::End),
        }
    }

    fn string_end(&self, at: usize) -> Result<usize, EditError> {
        let t = self.text;
        if t.get(at) != Some(&b'"') {
            return Err(EditError::Expected {
                what: "a string",
                at,
            });
        }
        let mut i = at + 1;
        while i < t.len() && t[i] != b'"' {
            i += if t[i] == b'\\' { 2 } else { 1 };
        }
        if i >= t.len() {
            return Err(EditError::Unterminated);
        }
        Ok(i + 1)
    }

    /// The members of the object whose `{` is at `at`.
    fn members(&self, at: usize) -> Result<Vec<Member>, EditError> {
        let t = self.text;
        let mut out = Vec::new();
        let mut i = self.blank(at + 1);
        while t.get(i) != Some(&b'}') {
            let key_end = self.string_end(i)?;
            let key: String = serde_json::from_slice(&t[i..key_end]).map_err(EditError::Key)?;
            let colon = self.blank(key_end);
            let start = self.blank(colon + 1);
            let end = self.value_end(start)?;
            out.push(Member {
                key,
                key_start: i,
                value: Span { start, end },
            });
            i = self.blank(end);
            if t.get(i) == Some(&b',') {
                i = self.blank(i + 1);
            } else if t.get(i) != Some(&b'}') {
                return Err(EditError::Expected {
                    what: "',' or '}'",
                    at: i,
                });
            }
        }
        Ok(out)
    }
}

/// A JSON file's text with the edits made so far.
#[derive(Debug, Clone)]
pub struct Doc {
    pub text: String,
}

impl Doc {
    /// The text, if it parses (comments and trailing commas allowed).
    pub fn parse(text: &str) -> Result<Doc, EditError> {
        parse_value(text)?;
        Ok(Doc {
            text: text.to_string(),
        })
    }

    /// Sets `key` in the object at `path` (objects on the way are created) to
    /// `value`, replacing an existing value in place.
    pub fn set(&mut self, path: &[&str], key: &str, value: &Value) -> Result<(), EditError> {
        let object = self.object_at(path)?;
        let scanner = Scanner {
            text: self.text.as_bytes(),
        };
        let members = scanner.members(object)?;
        let (indent, unit) = self.indents(object, &members);
        let rendered = render(value, &indent, &unit);
        let edit = match members.iter().find(|m| m.key == key) {
            Some(member) => (member.value.start, member.value.end, rendered),
            None => {
                let quoted = serde_json::to_string(key).unwrap_or_default();
                match members.last() {
                    Some(last) => (
                        last.value.end,
                        last.value.end,
                        format!(",\n{indent}{quoted}: {rendered}"),
                    ),
                    None => {
                        let close = scanner.blank(object + 1);
                        let outer = &indent[..indent.len().saturating_sub(unit.len())];
                        (
                            object + 1,
                            close,
                            format!("\n{indent}{quoted}: {rendered}\n{outer}"),
                        )
                    }
                }
            }
        };
        let (start, end, insert) = edit;
        let mut text = self.text.clone();
        text.replace_range(start..end, &insert);
        let parsed = parse_value(&text)?;
        let mut at = &parsed;
        for step in path.iter().chain([&key]) {
            at = at.get(step).ok_or(EditError::NotLanded)?;
        }
        if at != value {
            return Err(EditError::NotLanded);
        }
        self.text = text;
        Ok(())
    }

    /// The value at `path`, if any.
    #[cfg(test)]
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        let mut value = parse_value(&self.text).ok()?;
        for step in path {
            value = value.get_mut(step)?.take();
        }
        Some(value)
    }

    /// The byte offset of the `{` of the object at `path`, made if missing.
    fn object_at(&mut self, path: &[&str]) -> Result<usize, EditError> {
        let scanner = Scanner {
            text: self.text.as_bytes(),
        };
        let mut at = scanner.blank(0);
        for (depth, step) in path.iter().enumerate() {
            if self.text.as_bytes().get(at) != Some(&b'{') {
                return Err(EditError::NotAnObject(path[..depth].join(".")));
            }
            let scanner = Scanner {
                text: self.text.as_bytes(),
            };
            match scanner.members(at)?.into_iter().find(|m| m.key == *step) {
                Some(member) => at = member.value.start,
                None => {
                    self.set(&path[..depth], step, &Value::Object(Default::default()))?;
                    return self.object_at(path);
                }
            }
        }
        if self.text.as_bytes().get(at) != Some(&b'{') {
            return Err(EditError::NotAnObject(path.join(".")));
        }
        Ok(at)
    }

    /// The indent of the object's members, and the file's indent unit.
    fn indents(&self, object: usize, members: &[Member]) -> (String, String) {
        let unit = unit(&self.text);
        let line_indent = |at: usize| {
            let line_start = self.text[..at].rfind('\n').map_or(0, |n| n + 1);
            let line = &self.text[line_start..at];
            let indent: String = line
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            (indent.len() == line.len()).then_some(indent)
        };
        if let Some(indent) = members.first().and_then(|m| line_indent(m.key_start)) {
            return (indent, unit);
        }
        let line_start = self.text[..object].rfind('\n').map_or(0, |n| n + 1);
        let outer: String = self.text[line_start..object]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        (format!("{outer}{unit}"), unit)
    }
}

fn parse_value(text: &str) -> Result<Value, EditError> {
    serde_json::from_str(&super::json::strip_jsonc(text)).map_err(|e| EditError::Syntax {
        line: e.line(),
        column: e.column(),
        source: e,
    })
}

/// The file's indent step: that of its first indented line, else two spaces.
fn unit(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect::<String>()
        })
        .find(|indent| !indent.is_empty())
        .unwrap_or_else(|| "  ".into())
}

/// A value as a person would write it at `indent`: objects one member per
/// line, arrays of plain values on one line.
fn render(value: &Value, indent: &str, unit: &str) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let inner = format!("{indent}{unit}");
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = serde_json::to_string(k).unwrap_or_default();
                    format!("{inner}{key}: {}", render(v, &inner, unit))
                })
                .collect();
            format!("{{\n{}\n{indent}}}", members.join(",\n"))
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            let inner = format!("{indent}{unit}");
            let items: Vec<String> = items
                .iter()
                .map(|v| format!("{inner}{}", render(v, &inner, unit)))
                .collect();
            format!("[\n{}\n{indent}]", items.join(",\n"))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| v.to_string()).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// A unified diff of `old` and `new` with two lines of context (a longest
/// common subsequence of lines: JSON files are small).
pub fn diff(name: &str, old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let ops = line_ops(&old, &new);
    let mut out = format!("--- {name}\n+++ {name}\n");
    // Hunks: runs of changes with their context, merged when close.
    let changed: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].0 != ' ').collect();
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(2);
        let mut end = changed[i];
        while i < changed.len() && changed[i] <= end + 4 {
            end = changed[i];
            i += 1;
        }
        let end = (end + 3).min(ops.len());
        let old_start = ops[..start].iter().filter(|o| o.0 != '+').count();
        let new_start = ops[..start].iter().filter(|o| o.0 != '-').count();
        let old_len = ops[start..end].iter().filter(|o| o.0 != '+').count();
        let new_len = ops[start..end].iter().filter(|o| o.0 != '-').count();
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            old_start + 1,
            new_start + 1
        ));
        for (op, line) in &ops[start..end] {
            out.push_str(&format!("{op}{line}\n"));
        }
    }
    out
}

/// Each line of the two texts as kept (' '), removed ('-') or added ('+').
fn line_ops<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<(char, &'a str)> {
    let (n, m) = (old.len(), new.len());
    // lengths[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut lengths = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lengths[i][j] = if old[i] == new[j] {
                lengths[i + 1][j + 1] + 1
            } else {
                lengths[i + 1][j].max(lengths[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::with_capacity(n.max(m));
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            ops.push((' ', old[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || lengths[i + 1][j] >= lengths[i][j + 1]) {
            ops.push(('-', old[i]));
            i += 1;
        } else {
            ops.push(('+', new[j]));
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROJECT: &str = r#"{
  "name": "api", // the app
  "targets": {
    "build": {
      "executor": "@nx/esbuild:esbuild",
      "options": { "bundle": true, "format": ["cjs"], },
    },
    "empty": {}
  }
}
"#;

    #[test]
    fn a_new_member_keeps_comments_order_and_layout() {
        let mut doc = Doc::parse(PROJECT).unwrap();
        doc.set(
            &["targets", "build", "options"],
            "external",
            &json!(["@a/b"]),
        )
        .unwrap();
        doc.set(
            &["targets"],
            "serve-devloop",
            &json!({"executor": "x", "options": {"watch": true}}),
        )
        .unwrap();
        assert!(doc.text.contains("// the app"), "{}", doc.text);
        assert!(
            doc.text
                .contains("\"format\": [\"cjs\"],\n        \"external\": [\"@a/b\"], }"),
            "{}",
            doc.text
        );
        assert!(
            doc.text.contains(
                "    \"empty\": {},\n    \"serve-devloop\": {\n      \"executor\": \"x\",\n      \"options\": {\n        \"watch\": true\n      }\n    }\n  }"
            ),
            "{}",
            doc.text
        );
        assert_eq!(
            doc.get(&["targets", "build", "options", "external"]),
            Some(json!(["@a/b"]))
        );
    }

    #[test]
    fn an_existing_value_is_replaced_and_missing_objects_made() {
        let mut doc = Doc::parse(PROJECT).unwrap();
        doc.set(&["targets", "build", "options"], "bundle", &json!(false))
            .unwrap();
        doc.set(&["targets", "empty"], "options", &json!({}))
            .unwrap();
        doc.set(&["compilerOptions", "paths"], "@a/b", &json!(["../x"]))
            .unwrap();
        assert_eq!(
            doc.get(&["targets", "build", "options", "bundle"]),
            Some(json!(false))
        );
        assert_eq!(
            doc.get(&["compilerOptions", "paths", "@a/b"]),
            Some(json!(["../x"]))
        );
        assert!(
            doc.text
                .contains("\"empty\": {\n      \"options\": {}\n    }"),
            "{}",
            doc.text
        );
    }

    #[test]
    fn text_that_does_not_parse_is_refused() {
        assert!(Doc::parse("{ \"a\": }").is_err());
        let mut doc = Doc::parse("[1, 2]").unwrap();
        assert!(doc.set(&[], "a", &json!(1)).is_err());
        assert_eq!(doc.text, "[1, 2]");
    }

    #[test]
    fn the_diff_shows_what_changed_with_context() {
        let diff = diff("p.json", "a\nb\nc\nd\ne\n", "a\nb\nc\nX\nd\ne\n");
        assert_eq!(
            diff,
            "--- p.json\n+++ p.json\n@@ -2,4 +2,5 @@\n b\n c\n+X\n d\n e\n"
        );
        let old: String = (0..20).map(|n| format!("{n}\n")).collect();
        let new: String = (0..20)
            .map(|n| match n {
                3 => "3\nX\n".to_string(),
                15 => "Y\n".to_string(),
                n => format!("{n}\n"),
            })
            .collect();
        let diff = super::diff("f", &old, &new);
        assert_eq!(
            diff,
            "--- f\n+++ f\n@@ -3,4 +3,5 @@\n 2\n 3\n+X\n 4\n 5\n@@ -14,5 +15,5 @@\n 13\n 14\n-15\n+Y\n 16\n 17\n"
        );
    }
}
