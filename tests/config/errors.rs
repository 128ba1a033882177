//! `devloop check` on good and bad configurations: exit 0 with what it would
//! do, or exit 2 with a message naming the file, line and column.

use crate::common::Workspace;

const GOOD: &str = r#"[watch]
paths = ["libs"]
include = ["**/*.{ts,json}"]
exclude = ["**/*.spec.ts"]
debounce = "300ms"

[build]
command = "my-build --all"
output = "tmp/libs-out"
timeout = "2m"
on_change = "restart"

[promote]
target = "dist/libs"
keep = 2
require = ["shared/index.js"]

[process.api]
command = "node server.js"
env = { PORT = 3001, DEBUG = true }
after = ["build"]
restart = "on-failure"
on_promote = "signal:SIGHUP"
port = 3001
health = { http = "http://127.0.0.1:3001/api/health", interval = "500ms", retries = 5 }
stop_signal = "SIGINT"
stop_timeout = "5s"

[process.web]
command = "exec sh -c 'echo web'"
after = ["api"]
health = { tcp = 3000 }

[ui]
scrollback = 5000
"#;

fn workspace_with_tool(config: &str) -> Workspace {
    let workspace = Workspace::new(config);
    let bin = workspace.path().join("node_modules/.bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("my-build"), "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("my-build"), std::fs::Permissions::from_mode(0o755)).unwrap();
    workspace
}

#[test]
fn a_good_configuration_checks_and_names_what_it_runs() {
    let workspace = workspace_with_tool(GOOD);
    let out = workspace.run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("node_modules/.bin/my-build"),
        "build program not resolved from node_modules/.bin:\n{stdout}"
    );
    assert!(stdout.contains("process   api: node server.js"), "{stdout}");
    assert!(stdout.contains("process   web"), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
    let api = stdout.find("process   api").unwrap();
    let web = stdout.find("process   web").unwrap();
    assert!(api < web, "processes keep the order of the file");
    // A plain node server loads the libs once: check says so, for api only.
    let advice = stdout
        .find("advice  set on_promote = \"restart\": a plain `node` server")
        .unwrap_or_else(|| panic!("no restart advice for api:\n{stdout}"));
    assert!(api < advice && advice < web, "{stdout}");
    assert_eq!(stdout.matches("advice").count(), 1, "{stdout}");

    let restarted = GOOD.replacen(
        "on_promote = \"signal:SIGHUP\"",
        "on_promote = \"restart\"",
        1,
    );
    let out = workspace_with_tool(&restarted).run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("advice"), "already restarted:\n{stdout}");
}

/// Replaces `from` with `to` in the good configuration, runs `check`, and
/// expects exit 2, `watch.toml:LINE:COL` pointing at the first `at` in the
/// new text, and `words` in the message.
fn rejects(from: &str, to: &str, at: &str, words: &str) {
    assert!(
        GOOD.contains(from),
        "test setup: {from:?} is not in the config"
    );
    let text = GOOD.replacen(from, to, 1);
    let offset = text
        .find(at)
        .unwrap_or_else(|| panic!("test setup: {at:?} not in the new text"));
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    let workspace = workspace_with_tool(&text);
    let out = workspace.run(&["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "replacing {from:?} with {to:?} was accepted:\n{stderr}"
    );
    let located = format!("watch.toml:{line}:{column}: ");
    assert!(
        stderr.contains(&located),
        "expected {located} in:\n{stderr}"
    );
    assert!(stderr.contains(words), "expected {words:?} in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_keys_suggest_the_close_one() {
    rejects(
        "debounce =",
        "debounse =",
        "debounse",
        "unknown key `debounse`: did you mean `debounce`?",
    );
    rejects(
        "stop_timeout",
        "stop_timout",
        "stop_timout",
        "did you mean `stop_timeout`?",
    );
    rejects("[ui]", "[iu]", "iu]", "unknown key `iu`");
}

#[test]
fn bad_values_are_located() {
    rejects(
        "\"300ms\"",
        "\"300 millis\"",
        "\"300 millis",
        "invalid duration `300 millis`",
    );
    rejects(
        "\"**/*.spec.ts\"",
        "\"libs/[a-\"",
        "\"libs/[a-",
        "invalid glob `libs/[a-`",
    );
    rejects(
        "\"SIGINT\"",
        "\"SIGBOGUS\"",
        "\"SIGBOGUS",
        "unknown signal `SIGBOGUS`",
    );
    rejects(
        "\"on-failure\"",
        "\"on-falure\"",
        "\"on-falure",
        "did you mean `on-failure`?",
    );
    rejects(
        "\"restart\"\n",
        "\"sometimes\"\n",
        "\"sometimes",
        "unknown value `sometimes`",
    );
    rejects(
        "\"signal:SIGHUP\"",
        "\"reload\"",
        "\"reload",
        "invalid on_promote `reload`",
    );
    rejects("port = 3001", "port = 70000", "70000", "");
    rejects(
        "tcp = 3000",
        "tcp = 3000, exec = \"true\"",
        "{ tcp",
        "exactly one of http",
    );
    rejects("DEBUG = true", "DEBUG = [1]", "[1]", "env value must be");
}

#[test]
fn output_overlapping_the_target_is_explained() {
    let why = "would delete what the running servers import";
    rejects(
        "output = \"tmp/libs-out\"",
        "output = \"dist/libs\"",
        "\"dist/libs\"\nkeep",
        "is the same directory as promote.target",
    );
    rejects(
        "output = \"tmp/libs-out\"",
        "output = \"dist/libs/out\"",
        "\"dist/libs\"\nkeep",
        why,
    );
    rejects(
        "output = \"tmp/libs-out\"",
        "output = \"dist\"",
        "\"dist/libs\"\nkeep",
        "contains promote.target",
    );
    rejects(
        "output = \"tmp/libs-out\"",
        "output = \"./dist/../dist/libs\"",
        "\"dist/libs\"\nkeep",
        why,
    );
}

#[test]
fn missing_programs_are_named() {
    rejects(
        "my-build --all",
        "no-such-builder --all",
        "\"no-such",
        "program `no-such-builder` not found",
    );
    rejects(
        "node server.js",
        "./bin/missing.sh",
        "\"./bin",
        "program `./bin/missing.sh` not found",
    );
}

/// `exec -a NAME program`: the program is the word after exec's options. On
/// a system whose sh has no such options (dash) check says so instead of
/// letting the process fail at its start.
#[test]
fn exec_with_its_options_names_the_program_after_them() {
    let shell_has_them = std::process::Command::new("sh")
        .args(["-c", "exec -a named true"])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    let named = GOOD.replacen("node server.js", "exec -a api-server sleep 300", 1);
    let out = workspace_with_tool(&named).run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("`-a`"),
        "the option taken for the program:\n{stderr}"
    );
    if shell_has_them {
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stdout.contains("exec -a api-server sleep 300"), "{stdout}");
    } else {
        rejects(
            "node server.js",
            "exec -a api-server sleep 300",
            "\"exec -a",
            "`exec` takes no options in this system's sh",
        );
    }
    rejects(
        "node server.js",
        "exec -cl no-such-server",
        "\"exec -cl",
        if shell_has_them {
            "program `no-such-server` not found"
        } else {
            "run it through bash"
        },
    );
    // Through bash, as check advises where sh has no exec options.
    let bash = GOOD.replacen(
        "node server.js",
        "bash -c 'exec -a api-server sleep 300'",
        1,
    );
    workspace_with_tool(&bash).check_ok();
}

#[test]
fn process_dependencies_are_checked() {
    rejects(
        "after = [\"api\"]",
        "after = [\"apj\"]",
        "\"apj",
        "did you mean `api`?",
    );
    rejects(
        "after = [\"build\"]",
        "after = [\"build\", \"web\"]",
        "\"api\"]",
        "cycle",
    );
    rejects(
        "after = [\"api\"]",
        "after = [\"web\"]",
        "\"web\"]",
        "cannot wait for itself",
    );
}

#[test]
fn structure_errors_are_located() {
    rejects(
        "paths = [\"libs\"]",
        "paths = [\"nowhere\"]",
        "\"nowhere",
        "watch path `nowhere` does not exist",
    );
    rejects(
        "paths = [\"libs\"]",
        "paths = []",
        "[]",
        "watch.paths is empty",
    );
    rejects("paths = [\"libs\"]", "", "[watch]", "missing field `paths`");
    rejects(
        "keep = 2",
        "keep = 2\nkeep = 3",
        "keep = 3",
        "duplicate key",
    );
    rejects(
        "[process.web]",
        "[process.build]",
        "build]\ncommand = \"exec",
        "not allowed",
    );
    rejects(
        "scrollback = 5000",
        "scrollback = 0",
        "scrollback",
        "scrollback must be at least 1",
    );
    rejects("timeout = \"2m\"", "timeout = \"2m", "\non_change", "");
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let workspace = Workspace::new("");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(["check", "-c"])
        .arg(workspace.path().join("absent.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("absent.toml: cannot read the configuration")
    );
}

#[test]
fn the_example_configuration_checks() {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/watch.toml.example"))
            .unwrap();
    let workspace = Workspace::new(&example.replace("npx nx", "sh -c"));
    std::fs::create_dir_all(workspace.path().join("apps/web")).unwrap();
    workspace.check_ok();
}

#[test]
fn proxy_without_a_port_and_a_zero_start_timeout_are_explained() {
    let workspace =
        workspace_with_tool(&GOOD.replacen("port = 3001", "port = 3001\nproxy = true", 1));
    let out = workspace.run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("port    3001, held by devloop (proxy)"),
        "{stdout}"
    );

    rejects(
        "after = [\"api\"]\n",
        "after = [\"api\"]\nproxy = true\n",
        "true\nhealth",
        "proxy = true needs `port = P`",
    );
    rejects(
        "stop_timeout = \"5s\"",
        "stop_timeout = \"5s\"\nstart_timeout = \"0ms\"",
        "\"0ms\"",
        "start_timeout must be longer than 0",
    );
}
