//! Projects declared by package.json files: the root's `workspaces` (or
//! pnpm-workspace.yaml), plus every folder of the libs and apps directories.
//! Their dev, serve or start scripts become processes.

use super::detect::{Kind, Layout, Project, Script};
use super::json::{self, str_at};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Scripts that start a dev server, in order of preference.
const SERVER_SCRIPTS: &[&str] = &["dev", "serve", "start"];

/// The package.json projects of the workspace.
pub fn projects(
    root: &Path,
    package: Option<&Value>,
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> Vec<Project> {
    let mut patterns = workspace_patterns(root, package);
    patterns.push(format!("{}/*", layout.libs_dir));
    patterns.push(format!("{}/*", layout.apps_dir));
    let mut dirs: Vec<PathBuf> = patterns
        .iter()
        .filter(|p| !p.starts_with('!'))
        .flat_map(|p| expand(root, p))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut projects = Vec::new();
    for dir in dirs {
        match json::read(root, &dir.join("package.json")) {
            Ok(Some(value)) => projects.extend(project(dir, &value, layout)),
            Ok(None) => {}
            Err(warning) => warnings.push(warning.to_string()),
        }
    }
    projects
}

fn project(dir: PathBuf, value: &Value, layout: &Layout) -> Option<Project> {
    let scripts = value.get("scripts");
    let script = SERVER_SCRIPTS.iter().find_map(|name| {
        let text = scripts.and_then(|s| str_at(s, name))?;
        Some(Script {
            name: name.to_string(),
            text: text.to_string(),
        })
    });
    // Outside the libs and apps folders, a package with a server script is an app.
    let kind = layout.kind_of(&dir).unwrap_or(if script.is_some() {
        Kind::App
    } else {
        Kind::Lib
    });
    let name = str_at(value, "name")
        .map(str::to_string)
        .or_else(|| Some(dir.file_name()?.to_string_lossy().into_owned()))?;
    Some(Project {
        name,
        dir,
        kind,
        project_file: None,
        build: None,
        serve: None,
        script: (kind == Kind::App).then_some(script).flatten(),
        build_script: scripts.and_then(|s| str_at(s, "build")).map(str::to_string),
    })
}

/// package.json `workspaces` (a list, or yarn's `{ "packages": [...] }`),
/// or the `packages:` list of pnpm-workspace.yaml.
fn workspace_patterns(root: &Path, package: Option<&Value>) -> Vec<String> {
    let declared = package.and_then(|p| p.get("workspaces"));
    let list = declared.and_then(|w| w.get("packages").or(Some(w)));
    if let Some(Value::Array(items)) = list {
        return items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    std::fs::read_to_string(root.join("pnpm-workspace.yaml"))
        .map(|text| pnpm_patterns(&text))
        .unwrap_or_default()
}

/// The `packages:` entries of pnpm-workspace.yaml, read line by line: enough
/// for the plain list pnpm documents, without a YAML parser.
fn pnpm_patterns(text: &str) -> Vec<String> {
    let mut inside = false;
    let mut patterns = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if !line.starts_with([' ', '\t', '-']) && !trimmed.is_empty() {
            inside = trimmed.starts_with("packages:");
        } else if inside && let Some(item) = trimmed.strip_prefix('-') {
            let item = item.split(" #").next().unwrap_or_default().trim();
            patterns.push(item.trim_matches(|c| c == '"' || c == '\'').to_string());
        }
    }
    patterns
}

/// The directories a workspace glob names: `*` matches within one folder
/// name, `**` any depth up to three folders; hidden folders and node_modules
/// are never entered.
fn expand(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for part in pattern.trim_start_matches("./").split('/') {
        if part.is_empty() || part == "." {
            continue;
        }
        let mut next = Vec::new();
        for dir in &found {
            if part == "**" {
                descendants(root, dir, 3, &mut next);
            } else if part.contains('*') {
                next.extend(children(root, dir).into_iter().filter(|child| {
                    child
                        .file_name()
                        .is_some_and(|n| wildcard(part, &n.to_string_lossy()))
                }));
            } else if root.join(dir).join(part).is_dir() {
                next.push(dir.join(part));
            }
        }
        found = next;
    }
    found.retain(|dir| !dir.as_os_str().is_empty());
    found
}

fn children(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| !name.starts_with('.') && name != "node_modules")
        .map(|name| dir.join(name))
        .collect()
}

fn descendants(root: &Path, dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if depth > 0 {
        for child in children(root, dir) {
            descendants(root, &child, depth - 1, out);
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| wildcard(tail, &rest[i..]))
        }
    }
}

/// A port a script names: `PORT=3000`, `--port 3000`, `--port=3000`, `-p 3000`.
pub fn guess_port(script: &str) -> Option<u16> {
    let words: Vec<&str> = script.split_whitespace().collect();
    words.iter().enumerate().find_map(|(i, word)| {
        let value = word
            .strip_prefix("PORT=")
            .or_else(|| word.strip_prefix("--port="))
            .or_else(|| {
                ["--port", "-p"]
                    .contains(word)
                    .then(|| words.get(i + 1).copied())
                    .flatten()
            })?;
        value.trim_matches(|c| c == '"' || c == '\'').parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_scripts() {
        assert_eq!(guess_port("PORT=3001 node server.js"), Some(3001));
        assert_eq!(guess_port("next dev -p 4000"), Some(4000));
        assert_eq!(guess_port("vite --port=5173 --host"), Some(5173));
        assert_eq!(guess_port("vite --port"), None);
        assert_eq!(guess_port("node server.js"), None);
    }

    #[test]
    fn pnpm_workspace_lists_are_read() {
        let text =
            "packages:\n  - 'apps/*'\n  - \"libs/**\" # all\n  - '!**/test/**'\ncatalog:\n  - x\n";
        assert_eq!(pnpm_patterns(text), ["apps/*", "libs/**", "!**/test/**"]);
    }

    #[test]
    fn wildcards_match_within_a_name() {
        assert!(wildcard("*", "web"));
        assert!(wildcard("web-*", "web-admin"));
        assert!(!wildcard("web-*", "api"));
        assert!(wildcard("*-app*", "my-app-é"));
    }
}
