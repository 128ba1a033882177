//! Helpers shared by the promotion tests: build trees, snapshot them, list
//! the hidden siblings of a target.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use devloop::promote::{PromoteSpec, StrategyPref};

pub const MARKER: &str = ".devloop-generation";

/// A workspace: `out` (the build output) and `dist/libs` (the target).
pub struct Ws {
    pub _tmp: tempfile::TempDir,
    pub out: PathBuf,
    pub target: PathBuf,
}

pub fn ws() -> Ws {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("tmp/libs-out");
    let target = tmp.path().join("dist/libs");
    fs::create_dir_all(&out).expect("output dir");
    Ws {
        _tmp: tmp,
        out,
        target,
    }
}

impl Ws {
    pub fn spec(&self, keep: usize) -> PromoteSpec {
        PromoteSpec {
            output: self.out.clone(),
            target: self.target.clone(),
            keep,
            require: vec![],
            strategy: StrategyPref::Auto,
        }
    }

    /// Replaces the output with `version` written into a few files.
    pub fn build(&self, version: &str) {
        let _ = fs::remove_dir_all(&self.out);
        write(
            &self.out,
            "shared/src/index.js",
            &format!("export const v = '{version}';\n"),
        );
        write(&self.out, "shared/package.json", "{\"name\":\"shared\"}\n");
        write(&self.out, "data/src/index.js", &format!("// {version}\n"));
    }

    pub fn parent(&self) -> PathBuf {
        self.target.parent().expect("parent").to_path_buf()
    }

    /// Names of the hidden siblings (`.libs.*`), sorted.
    pub fn siblings(&self) -> Vec<String> {
        siblings(&self.target)
    }

    pub fn version(&self) -> String {
        fs::read_to_string(self.target.join("data/src/index.js")).unwrap_or_default()
    }
}

pub fn siblings(target: &Path) -> Vec<String> {
    let name = target
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut names: Vec<String> = fs::read_dir(target.parent().expect("parent"))
        .expect("read parent")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect();
    names.sort();
    names
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(PathBuf),
}

/// Everything under `root` except devloop's marker: kinds, modes, bytes.
pub fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut map = BTreeMap::new();
    walk(root, root, &mut map);
    map
}

fn walk(root: &Path, dir: &Path, map: &mut BTreeMap<String, Node>) {
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let rel = path
            .strip_prefix(root)
            .expect("prefix")
            .to_string_lossy()
            .into_owned();
        if rel == MARKER {
            continue;
        }
        let meta = fs::symlink_metadata(&path).expect("lstat");
        let mode = meta.permissions().mode() & 0o7777;
        let node = if meta.file_type().is_symlink() {
            Node::Link(fs::read_link(&path).expect("readlink"))
        } else if meta.is_dir() {
            walk(root, &path, map);
            Node::Dir(mode)
        } else {
            Node::File(mode, fs::read(&path).expect("read"))
        };
        map.insert(rel, node);
    }
}

/// A tmpfs mounted for a test, unmounted however the test ends.
pub struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A tmpfs of `size` (as mount takes it: `2m`) on `dir`; None unless the
/// tests run as root and the mount works.
pub fn mount_tmpfs(dir: &Path, size: &str) -> Option<Mount> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    fs::create_dir_all(dir).ok()?;
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .ok()?
        .success();
    ok.then(|| Mount(dir.to_path_buf()))
}
