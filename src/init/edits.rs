//! init's JSON edits, file by file: each file's diff, written only with
//! `--apply`, and only when the file parses and every edit lands.

use super::apps::Edit;
use super::jsonedit::{Doc, diff};
use super::report::Changes;
use std::path::{Path, PathBuf};

pub fn changes(root: &Path, edits: &[Edit], apply: bool) -> Changes {
    let mut files: Vec<&PathBuf> = Vec::new();
    for edit in edits {
        if !files.contains(&&edit.file) {
            files.push(&edit.file);
        }
    }
    let mut out = Changes {
        applied: apply,
        diffs: Vec::new(),
        refused: Vec::new(),
    };
    for file in files {
        let shown = file.display().to_string();
        match edited(root, file, edits.iter().filter(|e| e.file == *file)) {
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

/// The file's text before and after its edits; None when nothing changes.
fn edited<'a>(
    root: &Path,
    file: &Path,
    edits: impl Iterator<Item = &'a Edit>,
) -> Result<Option<(String, String)>, String> {
    let old =
        std::fs::read_to_string(root.join(file)).map_err(|e| format!("cannot read it ({e})"))?;
    let mut doc = Doc::parse(&old).map_err(|e| format!("not valid JSON ({e}), left alone"))?;
    for edit in edits {
        let path: Vec<&str> = edit.path.iter().map(String::as_str).collect();
        doc.set(&path, &edit.key, &edit.value)
            .map_err(|e| format!("{}.{}: {e}, left alone", edit.path.join("."), edit.key))?;
    }
    Ok((doc.text != old).then_some((old, doc.text)))
}
