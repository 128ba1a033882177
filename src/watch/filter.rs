//! Which directories are watched and which files count as changes.

use crate::config::{Config, Pattern, STATE_DIR};
use globset::{GlobSet, GlobSetBuilder};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Directories never watched wherever they are: version control and packages.
const ALWAYS_SKIPPED: &[&str] = &[".git", "node_modules"];
/// A name no extension glob matches, to ask "does this pattern exclude
/// everything inside the directory?"
const PROBE: &str = "__devloop_probe__";

#[derive(Debug)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: GlobSet,
    /// The build output, the promote target and devloop's state, relative.
    excluded_trees: Vec<PathBuf>,
    /// The target's parent and the `.libs.` prefix of its hidden siblings.
    target_siblings: Option<(PathBuf, String)>,
}

impl PathFilter {
    pub fn new(config: &Config) -> PathFilter {
        let mut excluded_trees = vec![PathBuf::from(STATE_DIR)];
        excluded_trees.extend(config.build.output.clone());
        let mut target_siblings = None;
        if let Some(promote) = &config.promote {
            excluded_trees.push(promote.target.clone());
            if let Some(name) = promote.target.file_name() {
                let parent = promote
                    .target
                    .parent()
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                target_siblings = Some((parent, format!(".{}.", name.to_string_lossy())));
            }
        }
        let include = &config.watch.include;
        PathFilter {
            include: (!include.is_empty()).then(|| glob_set(include)),
            exclude: glob_set(&config.watch.exclude),
            excluded_trees,
            target_siblings,
        }
    }

    /// Whether a directory (workspace-relative) is left unwatched with all below it.
    pub fn skips_dir(&self, dir: &Path) -> bool {
        let name = dir.file_name().unwrap_or_default();
        ALWAYS_SKIPPED.iter().any(|skip| name == OsStr::new(skip))
            || self.in_excluded_tree(dir)
            || self.exclude.is_match(dir)
            || self.exclude.is_match(dir.join(PROBE))
    }

    /// Whether a change to this file (workspace-relative) should build.
    pub fn wants_file(&self, file: &Path) -> bool {
        let in_skipped_dir = file.components().any(|part| {
            ALWAYS_SKIPPED
                .iter()
                .any(|skip| part.as_os_str() == OsStr::new(skip))
        });
        !in_skipped_dir
            && !self.in_excluded_tree(file)
            && !self.exclude.is_match(file)
            && self.include.as_ref().is_none_or(|set| set.is_match(file))
    }

    fn in_excluded_tree(&self, path: &Path) -> bool {
        if self
            .excluded_trees
            .iter()
            .any(|tree| path.starts_with(tree))
        {
            return true;
        }
        let Some((parent, prefix)) = &self.target_siblings else {
            return false;
        };
        path.strip_prefix(parent)
            .ok()
            .and_then(|rest| rest.components().next())
            .is_some_and(|first| {
                first
                    .as_os_str()
                    .to_string_lossy()
                    .starts_with(prefix.as_str())
            })
    }
}

fn glob_set(patterns: &[Pattern]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(pattern.glob.clone());
    }
    // Each glob compiled alone when the configuration was read; a set of them cannot fail.
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(extra: &str) -> PathFilter {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("libs")).unwrap();
        let text = format!(
            "[watch]\npaths = [\"libs\"]\n{extra}\n[build]\ncommand = \"true\"\noutput = \"tmp/out\"\n[promote]\ntarget = \"dist/libs\"\n"
        );
        let config = Config::parse(&dir.path().join("watch.toml"), &text).unwrap();
        PathFilter::new(&config)
    }

    #[test]
    fn skips_builtin_directories() {
        let f = filter("");
        for dir in [
            "libs/a/node_modules",
            ".git",
            "tmp/out",
            "tmp/out/x",
            "dist/libs",
            "dist/.libs.gen-3",
            ".devloop",
        ] {
            assert!(f.skips_dir(Path::new(dir)), "{dir} watched");
        }
        for dir in ["libs", "libs/a/src", "dist", "dist/other"] {
            assert!(!f.skips_dir(Path::new(dir)), "{dir} skipped");
        }
    }

    #[test]
    fn include_and_exclude_files() {
        let f =
            filter("include = [\"**/*.{ts,json}\"]\nexclude = [\"*.spec.ts\", \"libs/gen/**\"]");
        assert!(f.wants_file(Path::new("libs/a/index.ts")));
        assert!(f.wants_file(Path::new("libs/a/package.json")));
        assert!(!f.wants_file(Path::new("libs/a/index.js")));
        assert!(!f.wants_file(Path::new("libs/a/x.spec.ts")));
        assert!(!f.wants_file(Path::new("libs/a/node_modules/x.ts")));
        assert!(!f.wants_file(Path::new("dist/.libs.stage-1/a.ts")));
        assert!(
            f.skips_dir(Path::new("libs/gen")),
            "an exclude covering a whole directory skips it"
        );
    }
}
