//! `devloop init` on temporary workspaces: what it writes for an nx workspace
//! and for a package.json-scripts one, that `devloop check` accepts it, that it
//! never overwrites a file unless forced, and that broken JSON is only a warning.

mod common;

use common::Workspace;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A workspace (with `libs/`) and no watch.toml yet.
fn workspace() -> Workspace {
    let workspace = Workspace::new("");
    std::fs::remove_file(workspace.config()).unwrap();
    workspace
}

/// `devloop init ARGS` run in the workspace, as a user would.
fn init(workspace: &Workspace, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devloop"))
        .arg("init")
        .args(args)
        .current_dir(workspace.path())
        .stdin(Stdio::null())
        .output()
        .expect("run devloop init")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

/// An executable that does nothing, where `devloop check` looks first.
fn stub_program(workspace: &Workspace, name: &str) {
    let path = workspace.path().join("node_modules/.bin").join(name);
    workspace.write(&format!("node_modules/.bin/{name}"), "#!/bin/sh\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn nx_lib(workspace: &Workspace, name: &str) {
    workspace.write(
        &format!("libs/{name}/project.json"),
        &format!(
            r#"{{
  "name": "{name}",
  "projectType": "library",
  "targets": {{
    "build": {{
      "executor": "@nx/js:tsc",
      "outputs": ["{{options.outputPath}}"],
      "options": {{
        "outputPath": "dist/libs/{name}",
        "main": "libs/{name}/src/index.ts",
        "tsConfig": "libs/{name}/tsconfig.lib.json"
      }}
    }}
  }}
}}"#
        ),
    );
}

fn nx_app(workspace: &Workspace, name: &str, options: &str) {
    workspace.write(
        &format!("apps/{name}/project.json"),
        &format!(
            r#"{{ "name": "{name}", "projectType": "application",
  "targets": {{ "serve": {{ "executor": "@nx/js:node", "options": {options} }} }} }}"#
        ),
    );
}

fn written(workspace: &Workspace) -> toml::Table {
    let text = workspace.read("watch.toml");
    toml::from_str(&text).unwrap_or_else(|e| panic!("watch.toml is not TOML ({e}):\n{text}"))
}

#[test]
fn an_nx_workspace_gets_its_libs_built_apps_served_and_project_json_changes() {
    let workspace = workspace();
    workspace.write("nx.json", "{}");
    workspace.write("pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
    workspace.write("package.json", r#"{ "name": "acme", "private": true }"#);
    nx_lib(&workspace, "shared");
    nx_lib(&workspace, "data");
    nx_app(&workspace, "web", r#"{ "port": 4200 }"#);
    nx_app(&workspace, "api", r#"{ "buildTarget": "api:build" }"#);

    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    let config = written(&workspace);
    assert_eq!(config["watch"]["paths"], toml::Value::from(vec!["libs"]));
    assert_eq!(
        config["build"]["command"].as_str(),
        Some("pnpm nx run-many --target=build --projects=data,shared --configuration=devloop")
    );
    assert_eq!(config["build"]["output"].as_str(), Some("tmp/libs-out"));
    assert_eq!(config["promote"]["target"].as_str(), Some("dist/libs"));
    assert_eq!(
        config["promote"]["require"],
        toml::Value::from(vec!["data/src/index.js", "shared/src/index.js"])
    );
    for app in ["web", "api"] {
        let process = &config["process"][app];
        let expected = format!("pnpm nx serve {app}");
        assert_eq!(process["command"].as_str(), Some(expected.as_str()));
        assert_eq!(process["after"], toml::Value::from(vec!["build"]));
        assert_eq!(process["restart"].as_str(), Some("always"));
        assert!(process.get("port").is_none(), "ports stay commented out");
    }
    let file = workspace.read("watch.toml");
    assert!(
        !file.contains("4200"),
        "@nx/js:node's `port` is its inspector's, not the app's:\n{file}"
    );

    let stdout = text(&out.stdout);
    for lib in ["shared", "data"] {
        assert!(
            stdout.contains(&format!("libs/{lib}/project.json")),
            "{stdout}"
        );
        let block = format!(
            "+        \"devloop\": {{\n+          \"outputPath\": \"tmp/libs-out/{lib}\"\n+        }}"
        );
        assert!(stdout.contains(&block), "no change for {lib}:\n{stdout}");
    }
    assert!(
        stdout.contains("delete outputPath before building"),
        "{stdout}"
    );

    stub_program(&workspace, "pnpm");
    let check = workspace.run(&["check"]);
    assert_exit(&check, 0);
    assert!(text(&check.stdout).trim_end().ends_with("ok"));
}

#[test]
fn a_lib_that_already_has_the_devloop_configuration_needs_no_change() {
    let workspace = workspace();
    workspace.write("nx.json", "{}");
    workspace.write(
        "libs/shared/project.json",
        r#"{ "name": "shared", "targets": { "build": { "executor": "@nx/js:tsc",
          "options": { "outputPath": "dist/libs/shared", "main": "libs/shared/src/index.ts" },
          "configurations": { "devloop": { "outputPath": "tmp/libs-out/shared" } } } } }"#,
    );
    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("add to targets.build"), "{stdout}");
    assert!(
        stdout.contains("npx nx run-many"),
        "npm is the default:\n{stdout}"
    );
    assert_eq!(
        written(&workspace)["promote"]["require"],
        toml::Value::from(vec!["shared/src/index.js"])
    );
}

#[test]
fn package_json_scripts_become_processes_with_their_cwd() {
    let workspace = workspace();
    workspace.write("package-lock.json", "{}");
    workspace.write(
        "package.json",
        r#"{ "workspaces": ["apps/*", "libs/*"], "scripts": { "build": "node build.js" } }"#,
    );
    workspace.write("libs/ui/package.json", r#"{ "name": "@acme/ui" }"#);
    workspace.write(
        "apps/web/package.json",
        r#"{ "name": "@acme/web", "scripts": { "dev": "PORT=3000 node server.js", "start": "node server.js" } }"#,
    );

    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    let config = written(&workspace);
    assert_eq!(config["watch"]["paths"], toml::Value::from(vec!["libs"]));
    assert_eq!(config["build"]["command"].as_str(), Some("npm run build"));
    let web = &config["process"]["web"];
    assert_eq!(web["command"].as_str(), Some("npm run dev"));
    assert_eq!(web["cwd"].as_str(), Some("apps/web"));
    assert_eq!(web["after"], toml::Value::from(vec!["build"]));
    assert!(workspace.read("watch.toml").contains("# port = 3000"));
    // A plain node server never reloads the libs: init sets the restart.
    assert_eq!(web["on_promote"].as_str(), Some("restart"));
    assert!(text(&out.stdout).contains("on_promote = \"restart\": a plain `node` server"));

    stub_program(&workspace, "npm");
    assert_exit(&workspace.run(&["check"]), 0);
}

#[test]
fn an_existing_file_is_never_overwritten_unless_forced() {
    let workspace = workspace();
    workspace.write("watch.toml", "# mine\n");
    let out = init(&workspace, &[]);
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("watch.toml already exists"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(workspace.read("watch.toml"), "# mine\n");

    assert_exit(&init(&workspace, &["--force"]), 0);
    let replaced = workspace.read("watch.toml");
    assert!(
        replaced.starts_with("# devloop configuration"),
        "{replaced}"
    );
    assert!(!workspace.path().join("watch.toml.devloop-init").exists());
}

#[test]
fn config_names_the_file_to_write() {
    let workspace = workspace();
    assert_exit(&init(&workspace, &["-c", "dev.toml"]), 0);
    assert!(workspace.read("dev.toml").contains("[build]"));
    assert!(!workspace.config().exists());
    assert_exit(&init(&workspace, &["-c", "dev.toml"]), 2);
}

#[test]
fn malformed_json_is_reported_and_skipped() {
    let workspace = workspace();
    workspace.write("nx.json", "{}");
    nx_lib(&workspace, "good");
    workspace.write(
        "libs/bad/project.json",
        "{\n  \"name\": \"bad\",\n  \"targets\": }\n",
    );
    workspace.write("libs/odd/project.json", "[1, 2]");
    workspace.write(
        "libs/typed/project.json",
        r#"{ "name": 5, "targets": { "build": { "executor": 1, "options": { "outputPath": [] } } } }"#,
    );
    workspace.write("apps/web/package.json", "{ \"scripts\": ");
    workspace.write("package.json", "\u{0}not json");

    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("libs/bad/project.json:3:14: not valid JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("libs/odd/project.json: not a JSON object"),
        "{stderr}"
    );
    assert!(stderr.contains("apps/web/package.json:1:"), "{stderr}");
    assert!(
        stderr.contains("package.json:1:1: not valid JSON"),
        "{stderr}"
    );
    let config = written(&workspace);
    let command = config["build"]["command"].as_str().unwrap_or_default();
    assert!(command.contains("--projects=good"), "{command}");
}

#[test]
fn pnpm_workspace_packages_are_watched_and_built_one_by_one() {
    let workspace = workspace();
    workspace.write("pnpm-lock.yaml", "");
    workspace.write("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n");
    workspace.write("package.json", r#"{ "name": "root" }"#);
    workspace.write(
        "packages/core/package.json",
        r#"{ "scripts": { "build": "tsc" } }"#,
    );
    workspace.write(
        "packages/ui/package.json",
        r#"{ "scripts": { "build": "tsc" } }"#,
    );
    // A package named like a reserved process name falls back to its folder.
    workspace.write(
        "packages/api/package.json",
        r#"{ "name": "build", "scripts": { "start": "node --port 8080 a.js" } }"#,
    );

    assert_exit(&init(&workspace, &[]), 0);
    let config = written(&workspace);
    assert_eq!(
        config["watch"]["paths"],
        toml::Value::from(vec!["packages/core", "packages/ui"])
    );
    assert_eq!(
        config["build"]["command"].as_str(),
        Some("(cd packages/core && pnpm run build) && (cd packages/ui && pnpm run build)")
    );
    let api = &config["process"]["api"];
    assert_eq!(api["command"].as_str(), Some("pnpm run start"));
    assert_eq!(api["cwd"].as_str(), Some("packages/api"));
    assert!(workspace.read("watch.toml").contains("# port = 8080"));
}

#[test]
fn tsc_built_nx_libs_are_offered_the_warm_build_and_it_checks() {
    let workspace = workspace();
    workspace.write("nx.json", "{}");
    workspace.write("package.json", r#"{ "name": "acme", "private": true }"#);
    nx_lib(&workspace, "shared");
    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    let warm = "npx nx run-many --target=build --projects=shared --configuration=devloop --watch";
    assert!(text(&out.stdout).contains(warm), "{}", text(&out.stdout));
    let file = workspace.read("watch.toml");
    assert!(file.contains(&format!("# command = \"{warm}\"")), "{file}");
    assert!(file.contains("# persistent = true"), "{file}");

    // Taking the offer: uncomment it over the cold command.
    let taken: String = file
        .lines()
        .filter(|l| !l.starts_with("command = \"npx nx run-many"))
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("command = \"npx")
                    || rest.starts_with("persistent")
                    || rest.starts_with("timeout") =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    workspace.write("watch.toml", &taken);
    stub_program(&workspace, "npx");
    let check = workspace.run(&["check"]);
    assert_exit(&check, 0);
    assert!(
        text(&check.stdout).contains("preset  nx @nx/js:tsc --watch"),
        "{}",
        text(&check.stdout)
    );
}

/// Uncomments init's warm offer over the cold command.
fn take_the_warm_offer(file: &str) -> String {
    let mut warm = false;
    let mut lines = Vec::new();
    for line in file.lines() {
        if line.starts_with("# A warm build instead") {
            warm = true;
        }
        match line.strip_prefix("# ") {
            Some(rest)
                if warm
                    && (rest.starts_with("command = ")
                        || rest.starts_with("persistent")
                        || rest.starts_with("timeout")) =>
            {
                lines.push(rest)
            }
            _ if line.starts_with("command = ") => {}
            _ => lines.push(line),
        }
        if line.starts_with("# timeout") {
            warm = false;
        }
    }
    lines.join("\n")
}

#[test]
fn a_build_script_of_a_known_compiler_is_offered_its_warm_build_and_check_names_the_preset() {
    let cases = [
        ("tsc -b", "tsc -b -w", "tsc", "tsc --watch"),
        ("tsup", "tsup --watch libs", "tsup", "tsup --watch"),
        (
            "esbuild libs/a/index.ts --bundle --outfile=tmp/libs-out/a/index.js",
            "esbuild libs/a/index.ts --bundle --outfile=tmp/libs-out/a/index.js --watch",
            "esbuild",
            "esbuild --watch",
        ),
        (
            "vite build",
            "vite build --watch",
            "vite",
            "vite build --watch",
        ),
    ];
    for (script, warm, program, preset) in cases {
        let workspace = workspace();
        workspace.write(
            "package.json",
            &format!(r#"{{ "name": "acme", "scripts": {{ "build": "{script}" }} }}"#),
        );
        let out = init(&workspace, &[]);
        assert_exit(&out, 0);
        assert!(text(&out.stdout).contains(warm), "{}", text(&out.stdout));
        let file = workspace.read("watch.toml");
        assert!(file.contains(&format!("# command = \"{warm}\"")), "{file}");
        assert!(file.contains("# persistent = true"), "{file}");

        workspace.write("watch.toml", &take_the_warm_offer(&file));
        stub_program(&workspace, program);
        let check = workspace.run(&["check"]);
        assert_exit(&check, 0);
        assert!(
            text(&check.stdout).contains(&format!("preset  {preset}")),
            "{script}: {}",
            text(&check.stdout)
        );
    }

    // One lib built by its own script: the compiler runs in its folder.
    let one_lib = workspace();
    one_lib.write(
        "package.json",
        r#"{ "name": "acme", "workspaces": ["libs/*"] }"#,
    );
    one_lib.write(
        "libs/a/package.json",
        r#"{ "name": "a", "scripts": { "build": "vite build" } }"#,
    );
    assert_exit(&init(&one_lib, &[]), 0);
    let file = one_lib.read("watch.toml");
    assert!(
        file.contains("# command = \"cd libs/a && vite build --watch\""),
        "{file}"
    );

    // Not one call of a compiler: no offer.
    let workspace = workspace();
    workspace.write(
        "package.json",
        r#"{ "name": "acme", "scripts": { "build": "tsc && cp package.json dist" } }"#,
    );
    assert_exit(&init(&workspace, &[]), 0);
    assert!(!workspace.read("watch.toml").contains("warm build"));
}

/// The nx 23 fixture (files only: init reads no node_modules), optionally
/// with the overlay that puts its apps on the libs' source, as nx generates it.
fn nx23(on_source: bool) -> Workspace {
    let workspace = workspace();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    copy_tree(&fixtures.join("nx23-apps"), workspace.path());
    if on_source {
        copy_tree(
            &fixtures.join("nx23-apps-on-source/apps"),
            &workspace.path().join("apps"),
        );
    }
    workspace
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn nx_apps_are_run_so_that_each_gets_the_libs_from_the_promote_target() {
    let workspace = nx23(false);
    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    for app in ["api", "nest", "web"] {
        assert!(
            stdout.contains(&format!("  {app}: from dist/libs (")),
            "{app} is on dist/libs:\n{stdout}"
        );
    }
    let config = written(&workspace);
    let process = |name: &str| config["process"][name].as_table().unwrap().clone();
    for (app, port) in [("api", 3333), ("nest", 3000)] {
        let p = process(app);
        assert_eq!(
            p["command"].as_str(),
            Some(format!("npx nx run {app}:serve-devloop").as_str())
        );
        assert_eq!(p["on_promote"].as_str(), Some("restart"));
        assert_eq!(p["proxy"].as_bool(), Some(true));
        assert_eq!(p["port"].as_integer(), Some(port), "read from its main.ts");
        assert_eq!(p["env"]["NX_DAEMON"].as_str(), Some("false"));
    }
    let web = process("web");
    assert_eq!(
        web["command"].as_str(),
        Some("npx nx dev web"),
        "the plugin's inferred target"
    );
    // nx's 4200, or the next port nothing answers on (a server may hold
    // 4200 on this machine).
    let port = web["port"].as_integer().unwrap();
    assert!((4200..4300).contains(&port), "{port}");
    assert_eq!(web["env"]["PORT"].as_str(), Some(port.to_string().as_str()));
    assert_eq!(web["health"]["tcp"].as_integer(), Some(port));
    assert!(
        web.get("on_promote").is_none(),
        "Next.js sees promotions by itself"
    );
    // beta imports alpha: `run-many --watch` would never start it (its
    // ^build waits for alpha's endless watch), so it starts once alpha wrote.
    assert!(
        stdout.contains(
            "npx nx run alpha:build:devloop --watch --excludeTaskDependencies & until [ -f tmp/libs-out/alpha/package.json ]; do sleep 0.2; done; npx nx run beta:build:devloop --watch --excludeTaskDependencies & wait"
        ),
        "{stdout}"
    );
    // Only the serve targets are missing: shown, not made.
    assert!(stdout.contains("+    \"serve-devloop\": {"), "{stdout}");
    assert!(
        !workspace
            .read("apps/api/project.json")
            .contains("serve-devloop")
    );

    // --apply after init: the same watch.toml is kept, the targets are added.
    let applied = init(&workspace, &["--apply"]);
    assert_exit(&applied, 0);
    assert!(text(&applied.stdout).contains("changed (devloop init --apply)"));
    let api: serde_json::Value =
        serde_json::from_str(&workspace.read("apps/api/project.json")).unwrap();
    let target = &api["targets"]["serve-devloop"];
    assert_eq!(target["executor"], "@nx/js:node");
    assert_eq!(target["options"]["buildTarget"], "api:build:development");
    assert_eq!(target["options"]["inspect"], false);
    assert_eq!(target["options"]["runBuildTargetDependencies"], false);
    assert!(target.get("dependsOn").is_none() && target.get("continuous").is_none());
    let nest: serde_json::Value =
        serde_json::from_str(&workspace.read("apps/nest/project.json")).unwrap();
    assert_eq!(nest["targets"]["serve-devloop"]["options"]["watch"], false);
    // Applied once: nothing left to change.
    let again = init(&workspace, &["--apply", "--force"]);
    assert_exit(&again, 0);
    assert!(
        !text(&again.stdout).contains("---"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn apps_on_the_libs_source_are_named_and_apply_moves_them_to_the_target() {
    let workspace = nx23(true);
    // A broken file is never touched; the others are changed.
    let broken = "{ \"compilerOptions\": { \"paths\": ";
    workspace.write("apps/web/tsconfig.json", broken);
    let out = init(&workspace, &["--apply"]);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    for (app, how) in [
        ("api", "esbuild bundles libs/*/src"),
        ("nest", "webpack compiles libs/*/src"),
    ] {
        assert!(
            stdout.contains(&format!("  {app}: from their SOURCE ({how}")),
            "{app}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("not changed: apps/web/tsconfig.json: not valid JSON"),
        "{stdout}"
    );
    assert_eq!(workspace.read("apps/web/tsconfig.json"), broken);
    let api: serde_json::Value =
        serde_json::from_str(&workspace.read("apps/api/project.json")).unwrap();
    assert_eq!(
        api["targets"]["build"]["options"]["external"],
        serde_json::json!(["@nx23/alpha", "@nx23/beta"])
    );
    // webpack leaves the libs to node: no bundling from the source or the target.
    let webpack = workspace.read("apps/nest/webpack.config.js");
    assert!(
        webpack.contains(r#"["@nx23/alpha", "@nx23/beta"].includes(request)"#)
            && webpack.contains("mergeExternals: true,"),
        "{webpack}"
    );
    assert!(
        workspace
            .read("watch.toml")
            .contains("# command = \"npx nx serve api\""),
        "the supervise-only setup is offered"
    );

    // The web app's tsconfig as nx generates it: paths into dist/libs.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/nx23-apps-on-source/apps/web/tsconfig.json"),
        workspace.path().join("apps/web/tsconfig.json"),
    )
    .unwrap();
    stub_program(&workspace, "npx");
    let check = workspace.run(&["check"]);
    assert_exit(&check, 0);
    let said = text(&check.stdout);
    assert!(
        said.contains("warning web gets the libs from their source"),
        "check names the app that bypasses the promotion:\n{said}"
    );
    assert!(!said.contains("warning api gets"), "{said}");
    let out = init(&workspace, &["--apply", "--force"]);
    assert_exit(&out, 0);
    let tsconfig: serde_json::Value =
        serde_json::from_str(&workspace.read("apps/web/tsconfig.json")).unwrap();
    assert_eq!(
        tsconfig["compilerOptions"]["paths"]["@nx23/beta"],
        serde_json::json!(["../../dist/libs/beta"])
    );
    assert!(text(&out.stdout).contains("  web: from their SOURCE"));
    let check = workspace.run(&["check"]);
    assert!(!text(&check.stdout).contains("gets the libs from their source"));
}

#[test]
fn independent_nx_libs_watch_together_with_room_for_each() {
    let workspace = workspace();
    workspace.write("nx.json", "{}");
    for lib in ["a", "b", "c", "d"] {
        nx_lib(&workspace, lib);
    }
    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    // nx runs 3 tasks at a time: a fourth watch would never start.
    assert!(
        text(&out.stdout)
            .contains("--projects=a,b,c,d --configuration=devloop --watch --parallel=4"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_esbuild_app_runs_its_bundle_beside_its_build_in_watch_mode_once_nx_is_installed() {
    let workspace = nx23(false);
    // @nx/js's loader, where npm installs it: init finds it on disk.
    let loader = "node_modules/@nx/js/dist/src/executors/node/node-with-require-overrides.js";
    workspace.write(loader, "// @nx/js's require override\n");
    let out = init(&workspace, &[]);
    assert_exit(&out, 0);
    let config = written(&workspace);
    let build = &config["process"]["api-build"];
    assert_eq!(
        build["command"].as_str(),
        Some(
            "npx nx run api:build:development --watch --excludeTaskDependencies --deleteOutputPath=false"
        )
    );
    assert_eq!(
        build["health"]["exec"].as_str(),
        Some("test -f dist/apps/api/main.js")
    );
    assert!(build.get("on_promote").is_none());
    let api = &config["process"]["api"];
    let command = api["command"].as_str().unwrap();
    assert!(
        command.starts_with(r#"NX_MAPPINGS="{\"@nx23/alpha\":\"$PWD/dist/libs/alpha\",\"@nx23/beta\":\"$PWD/dist/libs/beta\"}" exec node --watch-path=dist/apps/api "#),
        "{command}"
    );
    assert!(command.ends_with(loader), "{command}");
    assert_eq!(
        api["env"]["NX_FILE_TO_RUN"].as_str(),
        Some("dist/apps/api/main.js")
    );
    assert_eq!(api["after"], toml::Value::from(vec!["api-build"]));
    assert_eq!(api["on_promote"].as_str(), Some("restart"));
    assert_eq!(api["proxy"].as_bool(), Some(true));
    // The webpack app too, once its config leaves the libs external (webpack
    // names the bundle main.js; its output.clean never deletes it).
    assert_eq!(
        config["process"]["nest-build"]["command"].as_str(),
        Some("npx nx run nest:build:development --watch --excludeTaskDependencies")
    );
    let nest = config["process"]["nest"]["command"].as_str().unwrap();
    assert!(nest.contains("--watch-path=dist/apps/nest "), "{nest}");
    assert_eq!(
        config["process"]["nest"]["env"]["NX_FILE_TO_RUN"].as_str(),
        Some("dist/apps/nest/main.js")
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("--- apps/nest/webpack.config.js"),
        "{stdout}"
    );
    assert!(!stdout.contains("--- apps/nest/project.json"), "{stdout}");
    assert!(!stdout.contains("--- apps/api/project.json"), "{stdout}");
    // What the sh of `command` makes of NX_MAPPINGS: JSON, with the root.
    let echoed = Command::new("sh")
        .arg("-c")
        .arg(command.replace("exec node", "exec printenv NX_MAPPINGS #"))
        .current_dir(workspace.path())
        .output()
        .unwrap();
    let mappings: serde_json::Value =
        serde_json::from_slice(&echoed.stdout).expect("NX_MAPPINGS is JSON");
    assert_eq!(
        mappings["@nx23/beta"].as_str().map(Path::new),
        Some(workspace.path().join("dist/libs/beta").as_path())
    );
}
