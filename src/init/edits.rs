//! init's edits, file by file: JSON files edited in place, JavaScript
//! configs by inserting lines after an anchor. Each file's diff is shown,
//! and written only with `--apply`, only when every edit of it lands.

use super::apps::{Edit, TextEdit};
use super::jsonedit::{Doc, EditError, diff};
use super::report::Changes;
use std::path::{Path, PathBuf};

pub fn changes(root: &Path, edits: &[Edit], text_edits: &[TextEdit], apply: bool) -> Changes {
    let mut files: Vec<&PathBuf> = Vec::new();
    let all = edits.iter().map(|e| &e.file);
    for file in all.chain(text_edits.iter().map(|e| &e.file)) {
        if !files.contains(&file) {
            files.push(file);
        }
    }
    let mut out = Changes {
        applied: apply,
        diffs: Vec::new(),
        refused: Vec::new(),
    };
    for file in files {
        let shown = file.display().to_string();
        let json = edits.iter().filter(|e| e.file == *file);
        let text = text_edits.iter().filter(|e| e.file == *file);
        match edited(root, file, json, text) {
            Ok(Some((old, new))) => {
                let written = match apply {
                    true => super::replace(&root.join(file), &new),
                    false => Ok(()),
                };
                match written {
                    Ok(()) => out.diffs.push(diff(&shown, &old, &new)),
                    Err(e) => out.refused.push(format!("{shown}: cannot write it ({e})")),
                }
            }
            Ok(None) => {}
            Err(why) => out.refused.push(format!("{shown}: {why}")),
        }
    }
    out
}

/// Why a file's edits were not made; the text follows the file's name.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("cannot read it ({0})")]
    Unreadable(std::io::Error),
    #[error("not valid JSON ({0}), left alone")]
    NotJson(EditError),
    #[error("{at}: {source}, left alone")]
    Edit { at: String, source: EditError },
    #[error("`{0}` is not on exactly one line, left alone")]
    Anchor(&'static str),
}

/// The file's text before and after its edits; None when nothing changes.
fn edited<'a>(
    root: &Path,
    file: &Path,
    mut json: impl Iterator<Item = &'a Edit>,
    text: impl Iterator<Item = &'a TextEdit>,
) -> Result<Option<(String, String)>, Refused> {
    let old = std::fs::read_to_string(root.join(file)).map_err(Refused::Unreadable)?;
    let mut new = old.clone();
    if let Some(first) = json.next() {
        let mut doc = Doc::parse(&old).map_err(Refused::NotJson)?;
        for edit in std::iter::once(first).chain(json) {
            let path: Vec<&str> = edit.path.iter().map(String::as_str).collect();
            doc.set(&path, &edit.key, &edit.value)
                .map_err(|source| Refused::Edit {
                    at: format!("{}.{}", edit.path.join("."), edit.key),
                    source,
                })?;
        }
        new = doc.text;
    }
    for edit in text {
        new = insert_after(&new, edit.after, &edit.insert).ok_or(Refused::Anchor(edit.after))?;
    }
    Ok((new != old).then_some((old, new)))
}

/// `insert` as whole lines after the one line holding `anchor`.
fn insert_after(text: &str, anchor: &str, insert: &str) -> Option<String> {
    if text.matches(anchor).count() != 1 {
        return None;
    }
    let at = text.find(anchor)?;
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n + 1);
    let mut out = String::with_capacity(text.len() + insert.len() + 1);
    out.push_str(&text[..line_end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(insert);
    out.push_str(&text[line_end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::insert_after;

    #[test]
    fn lines_go_after_the_anchor_line_and_only_a_unique_one() {
        let config = "const a = 1;\nmodule.exports = {\n  plugins: [],\n};\n";
        assert_eq!(
            insert_after(config, "module.exports = {", "  externals: [],\n").as_deref(),
            Some("const a = 1;\nmodule.exports = {\n  externals: [],\n  plugins: [],\n};\n")
        );
        assert_eq!(insert_after("x\nx\n", "x", "y\n"), None);
        assert_eq!(insert_after("x", "x", "y\n").as_deref(), Some("x\ny\n"));
    }
}
