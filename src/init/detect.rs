//! What `devloop init` learns about a workspace: its package manager, whether
//! it is an nx workspace, and its libs and apps with their build and serve
//! targets or package.json scripts.

use super::json::{self, str_at};
use super::{nx, packages};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The package manager, which decides how nx and scripts are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    Npm,
    Pnpm,
    Yarn,
    Bun,
}

/// Lockfiles in the order they are looked for: the first found decides.
const LOCKFILES: &[(&str, PackageManager)] = &[
    ("pnpm-lock.yaml", PackageManager::Pnpm),
    ("yarn.lock", PackageManager::Yarn),
    ("package-lock.json", PackageManager::Npm),
    ("bun.lockb", PackageManager::Bun),
    ("bun.lock", PackageManager::Bun),
];

impl PackageManager {
    pub fn name(self) -> &'static str {
        match self {
            PackageManager::Npm => "npm",
            PackageManager::Pnpm => "pnpm",
            PackageManager::Yarn => "yarn",
            PackageManager::Bun => "bun",
        }
    }

    /// The workspace's own nx, run through the package manager.
    pub fn nx(self) -> &'static str {
        match self {
            PackageManager::Npm => "npx nx",
            PackageManager::Pnpm => "pnpm nx",
            PackageManager::Yarn => "yarn nx",
            PackageManager::Bun => "bunx nx",
        }
    }

    /// A package.json script, run through the package manager.
    pub fn run(self, script: &str) -> String {
        format!("{} run {script}", self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lib,
    App,
}

/// An nx target as project.json declares it (only what init uses).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub executor: Option<String>,
    /// `options.outputPath`, workspace-relative (nx tokens resolved).
    pub output_path: Option<String>,
    /// `options.main`, workspace-relative: the entry point of a lib.
    pub main: Option<String>,
    /// `options.outputFileName` (esbuild): the bundle's name.
    pub output_file_name: Option<String>,
    /// `options.port` of a serve target.
    pub port: Option<u16>,
    /// `configurations.devloop.outputPath`, when a previous init was applied.
    pub devloop_output: Option<String>,
}

/// A package.json script that starts a dev server.
#[derive(Debug, Clone)]
pub struct Script {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Project {
    /// The name nx (or the package manager) knows it by.
    pub name: String,
    /// Workspace-relative directory; empty for the workspace root.
    pub dir: PathBuf,
    pub kind: Kind,
    /// The project.json it came from; None for a package.json-only project.
    pub project_file: Option<PathBuf>,
    pub build: Option<Target>,
    pub serve: Option<Target>,
    /// The dev/serve/start script of the project's package.json.
    pub script: Option<Script>,
    /// Its package.json `build` script, if any.
    pub build_script: Option<String>,
}

/// Where nx puts libs and apps (nx.json `workspaceLayout`).
#[derive(Debug, Clone)]
pub struct Layout {
    pub libs_dir: String,
    pub apps_dir: String,
}

impl Layout {
    /// The kind a project's directory alone suggests.
    pub fn kind_of(&self, dir: &Path) -> Option<Kind> {
        if dir.starts_with(&self.libs_dir) {
            Some(Kind::Lib)
        } else if dir.starts_with(&self.apps_dir) {
            Some(Kind::App)
        } else {
            None
        }
    }
}

#[derive(Debug)]
pub struct Workspace {
    /// The directory that will hold watch.toml.
    pub root: PathBuf,
    pub pm: PackageManager,
    /// What told the package manager: a lockfile, package.json, or nothing.
    pub pm_source: String,
    pub nx: bool,
    pub layout: Layout,
    /// Libs, then apps, each sorted by directory.
    pub projects: Vec<Project>,
    /// The root package.json `build` script, if any.
    pub root_build: Option<String>,
    /// Files that could not be used, each a line naming the file.
    pub warnings: Vec<String>,
}

impl Workspace {
    /// "an nx workspace" or "a workspace", for the header and the report.
    pub fn description(&self) -> &'static str {
        if self.nx {
            "an nx workspace"
        } else {
            "a workspace"
        }
    }
}

/// Looks at the workspace in `root`; never fails, warns instead.
pub fn detect(root: &Path) -> Workspace {
    let mut warnings = Vec::new();
    let mut read = |relative: &str| match json::read(root, Path::new(relative)) {
        Ok(value) => value,
        Err(warning) => {
            warnings.push(warning.to_string());
            None
        }
    };
    let package = read("package.json");
    let nx_json = read("nx.json");
    let nx = nx_json.is_some() || root.join("nx.json").exists();
    let layout_dir = |key: &str, default: &str| {
        nx_json
            .as_ref()
            .and_then(|v| v.get("workspaceLayout"))
            .and_then(|v| str_at(v, key))
            .map_or(default.to_string(), |d| d.trim_matches('/').to_string())
    };
    let layout = Layout {
        libs_dir: layout_dir("libsDir", "libs"),
        apps_dir: layout_dir("appsDir", "apps"),
    };
    let (pm, pm_source) = package_manager(root, package.as_ref());
    let mut projects = if nx {
        nx::projects(root, &layout, &mut warnings)
    } else {
        Vec::new()
    };
    for found in packages::projects(root, package.as_ref(), &layout, &mut warnings) {
        match projects.iter_mut().find(|p| p.dir == found.dir) {
            // An nx app without a serve target may still have a dev script.
            Some(known) => {
                if known.serve.is_none() && known.script.is_none() {
                    known.script = found.script;
                }
                if known.build_script.is_none() {
                    known.build_script = found.build_script;
                }
            }
            None => projects.push(found),
        }
    }
    projects.sort_by_key(|p| (p.kind == Kind::App, p.dir.clone()));
    let root_build = package
        .as_ref()
        .and_then(|p| p.get("scripts"))
        .and_then(|s| str_at(s, "build"))
        .map(str::to_string);
    Workspace {
        root: root.to_path_buf(),
        pm,
        pm_source,
        nx,
        layout,
        projects,
        root_build,
        warnings,
    }
}

/// The lockfile decides; then package.json's `packageManager`; then npm.
fn package_manager(root: &Path, package: Option<&Value>) -> (PackageManager, String) {
    if let Some((file, pm)) = LOCKFILES.iter().find(|(f, _)| root.join(f).is_file()) {
        return (*pm, format!("from {file}"));
    }
    let declared = package.and_then(|p| str_at(p, "packageManager"));
    if let Some(declared) = declared {
        let name = declared.split('@').next().unwrap_or_default();
        if let Some((_, pm)) = LOCKFILES.iter().find(|(_, pm)| pm.name() == name) {
            return (*pm, "from package.json packageManager".to_string());
        }
    }
    (
        PackageManager::Npm,
        "no lockfile found, assumed".to_string(),
    )
}
