//! `devloop init`: look at the workspace, write a commented starter
//! watch.toml (never over an existing one unless forced), and say what was
//! found and what nx libs must change to build outside the promote target.
//!
//! The workspace is the directory that will hold the file: the current
//! directory, or the one `--config` names.

mod detect;
mod json;
mod nx;
mod packages;
mod plan;
mod render;
mod report;
mod warm;

use crate::app::{EXIT_FAILED, EXIT_USAGE};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs `devloop init` for the configuration file `file`.
pub fn main(file: &Path, force: bool) -> ExitCode {
    match init(file, force) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("devloop: error: {message}");
            ExitCode::from(code)
        }
    }
}

fn init(file: &Path, force: bool) -> Result<(), (u8, String)> {
    let shown = file.display();
    // Checked before looking at anything, so that a refusal costs nothing.
    if !force && std::fs::symlink_metadata(file).is_ok() {
        return Err((
            EXIT_USAGE,
            format!("{shown} already exists: not overwritten (use --force to replace it)"),
        ));
    }
    let root = workspace_root(file);
    if !root.is_dir() {
        return Err((
            EXIT_USAGE,
            format!(
                "cannot write {shown}: {} is not a directory",
                root.display()
            ),
        ));
    }
    let workspace = detect::detect(&root);
    for warning in &workspace.warnings {
        eprintln!("devloop: warning: {warning}");
    }
    let plan = plan::plan(&workspace);
    let text = render::render(&workspace, &plan);
    write(file, &text, force).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => (
            EXIT_USAGE,
            format!("{shown} already exists: not overwritten (use --force to replace it)"),
        ),
        _ => (EXIT_FAILED, format!("cannot write {shown}: {e}")),
    })?;
    print!("{}", report::report(&workspace, &plan, file));
    Ok(())
}

/// Paths in watch.toml are relative to the directory holding it.
fn workspace_root(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Without `force`, `create_new` makes "never overwrite" hold even against a
/// file that appeared since the check. With it, the new text replaces the old
/// by a rename, so an interrupted write leaves the old file whole.
fn write(file: &Path, text: &str, force: bool) -> std::io::Result<()> {
    if !force {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(file)?;
        return out.write_all(text.as_bytes());
    }
    let mut temporary = file.as_os_str().to_owned();
    temporary.push(".devloop-init");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
