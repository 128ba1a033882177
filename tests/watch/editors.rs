//! Saves as editors make them and bursts as git and package managers make
//! them (issue 23): each burst is one build of its last content, none is
//! built twice, and nothing under an excluded path builds. The build prints
//! a checksum of the sources; the test computes the same after the burst.

use crate::common::{Devloop, Workspace};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// The product's debounce: git writes 2,000 files well within it.
const CONFIG: &str = "[watch]\npaths = [\"libs\"]\ndebounce = \"500ms\"\n\n[build]\ncommand = '''find libs -type f -name '*.ts' -not -path '*/node_modules/*' | LC_ALL=C sort | xargs cat | cksum'''\noutput = \"tmp/out\"\n";

/// What the build prints for the sources as they are now.
fn checksum(workspace: &Workspace) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("find libs -type f -name '*.ts' -not -path '*/node_modules/*' | LC_ALL=C sort | xargs cat | cksum")
        .current_dir(workspace.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// After a burst: build `n` ran, passed and built what is there now, and a
/// sentinel edit builds as `n + 1` (so no second build of the burst ran).
fn built_once(devloop: &mut Devloop, workspace: &Workspace, n: u64, what: &str) {
    devloop.wait_event("build_started", &[("build", json!(n))]);
    let finished = devloop.wait_event("build_finished", &[("build", json!(n))]);
    assert_eq!(finished["status"], "ok", "{what}: {finished}");
    let printed: Vec<&str> = devloop
        .all("build_output")
        .into_iter()
        .filter(|e| e["build"] == n)
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert_eq!(
        printed,
        [checksum(workspace).as_str()],
        "{what}: build {n} did not build the last content"
    );
    let sentinel = format!("libs/sentinel-{n}.ts");
    workspace.write(&sentinel, &format!("export const n = {n};"));
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["paths"], json!([sentinel]), "{what}: {change}");
    devloop.wait_event("build_started", &[("build", json!(n + 1))]);
    devloop.wait_event("build_finished", &[("build", json!(n + 1))]);
}

fn rename(workspace: &Workspace, from: &str, to: &str) {
    std::fs::rename(workspace.path().join(from), workspace.path().join(to)).unwrap();
}

fn remove(workspace: &Workspace, file: &str) {
    std::fs::remove_file(workspace.path().join(file)).unwrap();
}

#[test]
fn editor_saves_build_once_with_the_saved_text() {
    let workspace = Workspace::new(CONFIG);
    workspace.write("libs/a/index.ts", "export const a = 0;");
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("build_finished", &[("build", json!(1))]);

    // vim (backupcopy=auto): a probe file, the original renamed to the
    // backup, the new text written, the backup removed.
    workspace.write("libs/a/4913", "");
    remove(&workspace, "libs/a/4913");
    rename(&workspace, "libs/a/index.ts", "libs/a/index.ts~");
    workspace.write("libs/a/index.ts", "export const a = 1;");
    remove(&workspace, "libs/a/index.ts~");
    built_once(&mut devloop, &workspace, 2, "vim");

    // VS Code's atomic save: a temporary file renamed over the original.
    workspace.write("libs/a/.index.ts.tmp-1", "export const a = 2;");
    rename(&workspace, "libs/a/.index.ts.tmp-1", "libs/a/index.ts");
    built_once(&mut devloop, &workspace, 4, "VS Code");

    // JetBrains' safe write: new text beside, the original moved aside, the
    // new one moved in, the old one removed.
    workspace.write("libs/a/index.ts___jb_tmp___", "export const a = 3;");
    rename(&workspace, "libs/a/index.ts", "libs/a/index.ts___jb_old___");
    rename(&workspace, "libs/a/index.ts___jb_tmp___", "libs/a/index.ts");
    remove(&workspace, "libs/a/index.ts___jb_old___");
    built_once(&mut devloop, &workspace, 6, "JetBrains");
    assert!(devloop.stop().success());
}

fn git(root: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=devloop", "-c", "user.email=devloop@test"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .current_dir(root)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// 2,000 lib files, each different on the branch `other`.
fn repo_with_two_branches(workspace: &Workspace) {
    let root = workspace.path();
    let write_all = |tag: &str| {
        for i in 0..2_000 {
            workspace.write(
                &format!("libs/gen/d{}/f{i:04}.ts", i / 100),
                &format!("export const v{i} = '{tag}';\n"),
            );
        }
    };
    git(root, &["init", "-q"]);
    write_all("main");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "main"]);
    git(root, &["checkout", "-q", "-b", "other"]);
    write_all("other");
    git(root, &["commit", "-q", "-am", "other"]);
    git(root, &["checkout", "-q", "main"]);
}

#[test]
fn git_checkout_and_stash_build_once_each_with_the_last_content() {
    if which::which("git").is_err() {
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let workspace = Workspace::new(CONFIG);
    repo_with_two_branches(&workspace);
    let root = workspace.path().to_path_buf();
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("build_finished", &[("build", json!(1))]);

    git(&root, &["checkout", "-q", "other"]);
    built_once(
        &mut devloop,
        &workspace,
        2,
        "git checkout other (2,000 files)",
    );
    git(&root, &["checkout", "-q", "main"]);
    built_once(
        &mut devloop,
        &workspace,
        4,
        "git checkout main (2,000 files)",
    );

    for i in [3, 50, 1999] {
        workspace.write(
            &format!("libs/gen/d{}/f{i:04}.ts", i / 100),
            &format!("export const v{i} = 'edited';\n"),
        );
    }
    built_once(&mut devloop, &workspace, 6, "three edits");
    git(&root, &["stash", "-q"]);
    built_once(&mut devloop, &workspace, 8, "git stash");
    git(&root, &["stash", "pop", "-q"]);
    built_once(&mut devloop, &workspace, 10, "git stash pop");
    assert!(devloop.stop().success());
}

#[test]
fn a_package_install_under_an_excluded_node_modules_never_builds() {
    let workspace = Workspace::new(CONFIG);
    workspace.write("libs/a/index.ts", "export const a = 0;");
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("build_finished", &[("build", json!(1))]);
    // What `pnpm install` writes inside a lib: 50,000 files in 500 packages.
    let modules = workspace.path().join("libs/a/node_modules");
    for package in 0..500 {
        let dir = modules.join(format!(
            ".pnpm/pkg{package}@1.0.0/node_modules/pkg{package}/lib"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for file in 0..100 {
            std::fs::write(dir.join(format!("f{file}.ts")), "export {};").unwrap();
        }
    }
    // The next change is the sentinel's alone, and builds as number 2.
    workspace.write("libs/sentinel.ts", "export const n = 2;");
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["paths"], json!(["libs/sentinel.ts"]), "{change}");
    devloop.wait_event("build_started", &[("build", json!(2))]);
    devloop.wait_event("build_finished", &[("build", json!(2))]);
    assert!(devloop.stop().success());
}
