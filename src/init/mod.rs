//! `devloop init`: look at the workspace, write a commented starter
//! watch.toml (never over an existing one unless forced), and say what was
//! found and what nx libs must change to build outside the promote target.
//!
//! The workspace is the directory that will hold the file: the current
//! directory, or the one `--config` names.

mod apps;
mod detect;
mod edits;
mod json;
mod jsonedit;
mod nx;
mod nx_warm;
mod packages;
mod plan;
mod render;
mod report;
mod warm;

pub use plan::TARGET;

use crate::app::{EXIT_FAILED, EXIT_USAGE};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs `devloop init` for the configuration file `file`.
pub fn main(file: &Path, force: bool, apply: bool) -> ExitCode {
    match init(file, force, apply) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("devloop: error: {message}");
            ExitCode::from(code)
        }
    }
}

fn init(file: &Path, force: bool, apply: bool) -> Result<(), (u8, String)> {
    let shown = file.display();
    let exists = std::fs::symlink_metadata(file).is_ok();
    // Checked before looking at anything, so that a refusal costs nothing
    // (`--apply` after a plain init may keep the file init wrote, below).
    if !force && !apply && exists {
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
    // `init` then `init --apply`: the same file again is no reason to refuse.
    let same = exists && std::fs::read_to_string(file).is_ok_and(|old| old == text);
    if !force && exists && !same {
        return Err((
            EXIT_USAGE,
            format!("{shown} already exists: not overwritten (use --force to replace it)"),
        ));
    }
    let changes = edits::changes(&root, &plan.edits, &plan.text_edits, apply);
    let written = match same {
        true => Ok(()),
        false => write(file, &text, force),
    };
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => (
            EXIT_USAGE,
            format!("{shown} already exists: not overwritten (use --force to replace it)"),
        ),
        _ => (EXIT_FAILED, format!("cannot write {shown}: {e}")),
    })?;
    print!("{}", report::report(&workspace, &plan, file, &changes));
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
    replace(file, text)
}

/// A rename over the file, so that an interrupted write leaves it whole.
fn replace(file: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = file.as_os_str().to_owned();
    temporary.push(".devloop-init");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// Where the nx app `project` of the workspace in `root` gets the libs, when
/// that can be told from its files: `Some(how)` when it compiles their
/// source itself, bypassing the promotion (for `check`).
pub fn bypasses_promotion(root: &Path, project: &str) -> Option<String> {
    let workspace = detect::detect(root);
    let app = workspace
        .projects
        .iter()
        .find(|p| p.name == project && p.kind == detect::Kind::App)?;
    let libs = apps::lib_imports(&workspace);
    if libs.is_empty() {
        return None;
    }
    let setup = apps::setup(&workspace, app, &libs, &apps::plugins(&workspace))?;
    match setup.libs_from {
        apps::LibsFrom::Source(how) => Some(how),
        apps::LibsFrom::Dist(_) => None,
    }
}
