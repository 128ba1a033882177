//! The warm build init offers for nx libs built by `@nx/js:tsc`: nx's
//! `--watch` keeps one tsc per lib running. `run-many --watch` starts a lib
//! only when the libs it depends on have finished building, which a watch
//! never does, so libs that import other libs are started by level, each
//! level once the previous one has written its output (docs/nx-serve.md).

use super::apps::LibImport;
use super::detect::{Project, Workspace};
use super::plan::{CONFIGURATION, OUTPUT, TARGET};
use std::path::Path;

/// Files read per lib when looking for imports of other libs.
const MAX_FILES: usize = 2_000;

pub fn command(ws: &Workspace, libs: &[&Project], cold: &str, imports: &[LibImport]) -> String {
    let built: Vec<&Project> = libs.iter().copied().filter(|l| l.build.is_some()).collect();
    let levels = levels(ws, &built, imports);
    if levels.len() < 2 {
        // nx runs 3 tasks at a time by default: a watch never frees its slot.
        return match built.len() {
            0..=3 => format!("{cold} --watch"),
            n => format!("{cold} --watch --parallel={n}"),
        };
    }
    let nx = ws.pm.nx();
    let mut parts = Vec::new();
    let mut started: Vec<&Project> = Vec::new();
    for level in &levels {
        if !started.is_empty() {
            let ready: Vec<String> = started
                .iter()
                .map(|lib| format!("[ -f {}/package.json ]", output(lib)))
                .collect();
            parts.push(format!("until {}; do sleep 0.2; done;", ready.join(" && ")));
        }
        for lib in level {
            parts.push(format!(
                "{nx} run {}:build:{CONFIGURATION} --watch --excludeTaskDependencies &",
                lib.name
            ));
            started.push(lib);
        }
    }
    parts.push("wait".into());
    parts.join(" ")
}

/// Where the lib's `devloop` configuration writes.
fn output(lib: &Project) -> String {
    let build = lib.build.as_ref();
    if let Some(path) = build.and_then(|b| b.devloop_output.clone()) {
        return path;
    }
    let sub = build
        .and_then(|b| b.output_path.as_deref())
        .and_then(|p| Path::new(p).strip_prefix(TARGET).ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| lib.name.clone());
    format!("{OUTPUT}/{sub}")
}

/// The libs in levels: each lib after every lib it imports (a cycle puts
/// the rest in one last level).
fn levels<'a>(
    ws: &Workspace,
    libs: &[&'a Project],
    imports: &[LibImport],
) -> Vec<Vec<&'a Project>> {
    let import_of = |lib: &Project| {
        let out = lib.build.as_ref()?.output_path.as_deref()?;
        imports
            .iter()
            .find(|i| i.output == out)
            .map(|i| i.import.clone())
    };
    let named: Vec<(&Project, Option<String>)> = libs.iter().map(|l| (*l, import_of(l))).collect();
    let needs: Vec<Vec<usize>> = named
        .iter()
        .map(|(lib, _)| {
            let text = sources(&ws.root.join(&lib.dir));
            named
                .iter()
                .enumerate()
                .filter(|(_, (other, import))| {
                    other.name != lib.name
                        && import.as_ref().is_some_and(|i| {
                            ["'", "\""].iter().any(|q| {
                                text.contains(&format!("{q}{i}{q}"))
                                    || text.contains(&format!("{q}{i}/"))
                            })
                        })
                })
                .map(|(index, _)| index)
                .collect()
        })
        .collect();
    let mut placed = vec![false; libs.len()];
    let mut out = Vec::new();
    while placed.iter().any(|p| !p) {
        let ready: Vec<usize> = (0..libs.len())
            .filter(|&i| !placed[i] && needs[i].iter().all(|&n| placed[n]))
            .collect();
        let level = match ready.is_empty() {
            true => (0..libs.len()).filter(|&i| !placed[i]).collect(),
            false => ready,
        };
        for &i in &level {
            placed[i] = true;
        }
        out.push(level.into_iter().map(|i| libs[i]).collect());
    }
    out
}

/// The lib's source files, concatenated (bounded), to look for imports.
fn sources(dir: &Path) -> String {
    let mut text = String::new();
    let mut dirs = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && name != "node_modules" && !name.starts_with('.') {
                dirs.push(path);
            } else if kind.is_file()
                && ["ts", "tsx", "mts", "cts", "js", "jsx", "mjs", "cjs"]
                    .iter()
                    .any(|ext| name.ends_with(&format!(".{ext}")))
            {
                files += 1;
                if files > MAX_FILES {
                    return text;
                }
                text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    text
}
