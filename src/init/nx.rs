//! nx projects: every project.json under the workspace (found by a bounded
//! walk of our own that stays out of node_modules and build outputs), with its
//! build and serve targets.

use super::detect::{Kind, Layout, Project, Target};
use super::json::{self, str_at};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// project.json files deeper than this are not looked for.
const MAX_DEPTH: usize = 6;
/// Directories never worth entering: dependencies, outputs, caches.
const SKIP: &[&str] = &["node_modules", "dist", "tmp", "coverage"];
/// A bound on directories read, so that a huge tree cannot stall init.
const MAX_DIRS: usize = 20_000;

/// The nx projects of the workspace, with warnings for files that are unusable.
pub fn projects(root: &Path, layout: &Layout, warnings: &mut Vec<String>) -> Vec<Project> {
    let mut files = Vec::new();
    let mut budget = MAX_DIRS;
    walk(root, PathBuf::new(), 0, &mut budget, &mut files);
    files.sort();
    let mut projects = Vec::new();
    for file in files {
        match json::read(root, &file) {
            Ok(Some(value)) => projects.extend(project(root, file, &value, layout, warnings)),
            Ok(None) => {}
            Err(warning) => warnings.push(warning.to_string()),
        }
    }
    projects
}

fn walk(root: &Path, relative: PathBuf, depth: usize, budget: &mut usize, out: &mut Vec<PathBuf>) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    // Unreadable directories are skipped: init describes what it can see.
    let Ok(entries) = std::fs::read_dir(root.join(&relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // file_type() does not follow symlinks, so a link loop cannot trap the walk.
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        // A linked project.json still counts (nx reads it through the link).
        let is_file = file_type.is_file() || file_type.is_symlink() && entry.path().is_file();
        if is_file && name == "project.json" {
            out.push(relative.join(name));
        } else if file_type.is_dir()
            && depth < MAX_DEPTH
            && !name.starts_with('.')
            && !SKIP.contains(&name)
        {
            walk(root, relative.join(name), depth + 1, budget, out);
        }
    }
}

/// One project from its project.json, or None (with a warning) when it is not
/// an object or is neither a lib nor an app.
fn project(
    root: &Path,
    file: PathBuf,
    value: &Value,
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> Option<Project> {
    if !value.is_object() {
        warnings.push(format!("{}: not a JSON object, skipped", file.display()));
        return None;
    }
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let targets = value.get("targets");
    let target = |name: &str| {
        targets
            .and_then(|t| t.get(name))
            .map(|t| read_target(t, &dir))
    };
    let build = target("build");
    let serve = target("serve");
    let kind = match str_at(value, "projectType") {
        Some("library") => Kind::Lib,
        Some("application") => Kind::App,
        _ => match layout.kind_of(&dir) {
            Some(kind) => kind,
            None if serve.is_some() => Kind::App,
            None if build.is_some() => Kind::Lib,
            None => return None,
        },
    };
    Some(Project {
        name: name(root, value, &dir),
        dir,
        kind,
        project_file: Some(file),
        build,
        serve,
        script: None,
        build_script: None,
    })
}

/// nx's order: project.json `name`, then package.json `name`, then the folder.
fn name(root: &Path, value: &Value, dir: &Path) -> String {
    if let Some(name) = str_at(value, "name") {
        return name.to_string();
    }
    let package = json::read(root, &dir.join("package.json")).ok().flatten();
    if let Some(name) = package.as_ref().and_then(|p| str_at(p, "name")) {
        return name.to_string();
    }
    let folder = if dir.as_os_str().is_empty() {
        root
    } else {
        dir
    };
    folder
        .file_name()
        .map_or("root".to_string(), |n| n.to_string_lossy().into_owned())
}

fn read_target(value: &Value, dir: &Path) -> Target {
    let options = value.get("options");
    let option = |key: &str| {
        options
            .and_then(|o| str_at(o, key))
            .map(|path| resolve(path, dir))
    };
    let port = options.and_then(|o| o.get("port")).and_then(|p| match p {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let devloop_output = value
        .get("configurations")
        .and_then(|c| c.get("devloop"))
        .and_then(|d| str_at(d, "outputPath"))
        .map(|path| resolve(path, dir));
    Target {
        executor: str_at(value, "executor").map(str::to_string),
        output_path: option("outputPath"),
        main: option("main"),
        output_file_name: options
            .and_then(|o| str_at(o, "outputFileName"))
            .map(str::to_string),
        port,
        devloop_output,
    }
}

/// An nx path option as a plain workspace-relative path (an absolute one is
/// left as it is, and then matches nothing init looks for).
pub fn resolve(path: &str, project_dir: &Path) -> String {
    let project = project_dir.to_string_lossy();
    let mut path = path.replace("{workspaceRoot}/", "");
    if project.is_empty() {
        path = path.replace("{projectRoot}/", "");
    }
    let path = path.replace("{projectRoot}", &project);
    let path = path.trim_end_matches('/');
    path.strip_prefix("./").unwrap_or(path).to_string()
}
