//! From what was detected to what watch.toml will say: watch paths, the build
//! command, what the promotion requires, the processes, and the project.json
//! changes that make nx libs build outside the promote target.

use super::apps::{self, AppSetup, Edit, LibsFrom, Runner};
use super::detect::{Kind, Project, Workspace};
use super::packages::guess_port;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Where the build writes: never the promote target (SPEC section 2).
pub const OUTPUT: &str = "tmp/libs-out";
/// What the apps import, swapped whole by each promotion.
pub const TARGET: &str = "dist/libs";
/// The nx configuration init asks each lib to add.
pub const CONFIGURATION: &str = "devloop";

#[derive(Debug)]
pub struct Plan {
    pub watch_paths: Vec<String>,
    /// Why these paths, in one line.
    pub watch_why: String,
    pub build_command: String,
    pub build_why: String,
    /// The warm build offered beside it (`persistent = true`), if any.
    pub warm_command: Option<String>,
    /// Entry files that must exist in the output (relative to it).
    pub require: Vec<String>,
    pub processes: Vec<ProcessPlan>,
    pub changes: Vec<Change>,
    /// Every JSON edit the setup needs: the libs' `devloop` configurations,
    /// the apps' serve targets and their switch to the promote target.
    pub edits: Vec<Edit>,
    /// JavaScript configs, changed by inserting lines.
    pub text_edits: Vec<apps::TextEdit>,
    /// Changes init cannot make itself (JavaScript config files).
    pub by_hand: Vec<String>,
    /// Things the user should know that are not project.json changes.
    pub notes: Vec<String>,
}

#[derive(Debug)]
pub struct ProcessPlan {
    /// A valid watch.toml process name.
    pub name: String,
    /// The project it runs.
    pub project: String,
    pub command: String,
    pub cwd: Option<String>,
    pub port: Option<u16>,
    pub why: String,
    /// Why it cannot see promotions by itself, when that is known.
    pub restart: Option<String>,
    pub env: Vec<(String, String)>,
    /// devloop holds `port`: a restart starts the new instance first.
    pub proxy: bool,
    /// A `health` value as TOML, when the port can be known.
    pub health: Option<String>,
    /// Where the app gets the libs once the edits are made.
    pub libs_from: Option<LibsFrom>,
    /// The command that supervises the app as it was, on the libs' source.
    pub as_it_was: Option<String>,
    /// What it starts after: the build, or another process.
    pub after: Vec<String>,
    /// A build in watch mode, not a server: no advice about promotions.
    pub builds: bool,
}

/// A build target to give a `devloop` configuration.
#[derive(Debug)]
pub struct Change {
    pub project_file: PathBuf,
    /// The outputPath under build.output that mirrors it.
    pub to: String,
}

pub fn plan(ws: &Workspace) -> Plan {
    let libs: Vec<&Project> = ws.projects.iter().filter(|p| p.kind == Kind::Lib).collect();
    let mut notes = Vec::new();
    let (watch_paths, watch_why) = watch_paths(ws, &libs, &mut notes);
    let (build_command, build_why) = build(ws, &libs, &mut notes);
    let warm_command = super::warm::command(ws, &libs, &build_command, &watch_paths);
    let mut require = Vec::new();
    let mut changes = Vec::new();
    for lib in libs.iter().filter(|l| l.project_file.is_some()) {
        let Some(target) = &lib.build else { continue };
        let sub = target
            .devloop_output
            .as_deref()
            .and_then(|path| under(path, OUTPUT))
            .or_else(|| target.output_path.as_deref().and_then(|p| under(p, TARGET)));
        let Some(sub) = sub else {
            notes.push(match &target.output_path {
                Some(at) => format!(
                    "{}: its build writes to {at}, outside {TARGET}: devloop will not promote it",
                    lib.name
                ),
                None => format!(
                    "{}: its build target has no outputPath option: make it write under {OUTPUT}",
                    lib.name
                ),
            });
            continue;
        };
        if target.devloop_output.is_none() {
            changes.push(Change {
                project_file: lib.project_file.clone().unwrap_or_default(),
                to: join(OUTPUT, &sub),
            });
        }
        require.extend(entry(lib, &sub));
    }
    let mut edits: Vec<Edit> = changes
        .iter()
        .map(|c| Edit {
            file: c.project_file.clone(),
            path: vec!["targets".into(), "build".into(), "configurations".into()],
            key: CONFIGURATION.into(),
            value: json!({ "outputPath": c.to }),
        })
        .collect();
    let setups = apps::setups(ws, &apps::lib_imports(ws));
    let mut by_hand = Vec::new();
    let mut text_edits = Vec::new();
    for setup in &setups {
        edits.extend(setup.edits.iter().cloned());
        text_edits.extend(setup.text_edits.iter().cloned());
        by_hand.extend(setup.by_hand.clone());
    }
    let processes = processes(ws, &setups);
    Plan {
        watch_paths,
        watch_why,
        build_command,
        build_why,
        warm_command,
        require,
        processes,
        changes,
        edits,
        text_edits,
        by_hand,
        notes,
    }
}

/// The libs' folders (the whole libs directory when they all live there).
fn watch_paths(
    ws: &Workspace,
    libs: &[&Project],
    notes: &mut Vec<String>,
) -> (Vec<String>, String) {
    let mut paths: Vec<String> = libs
        .iter()
        .map(|lib| match lib.dir.starts_with(&ws.layout.libs_dir) {
            true => ws.layout.libs_dir.clone(),
            false => lib.dir.to_string_lossy().into_owned(),
        })
        .filter(|path| !path.is_empty())
        .collect();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        paths.push(ws.layout.libs_dir.clone());
    }
    for path in &paths {
        if !ws.root.join(path).is_dir() {
            notes.push(format!(
                "{path} does not exist: create it or edit watch.paths (`devloop check` fails until then)"
            ));
        }
    }
    if libs.is_empty() {
        let why = format!("No libs found: {} is a guess, edit to taste.", paths[0]);
        return (paths, why);
    }
    let why = format!(
        "The sources of {} lib(s): a change here rebuilds and promotes.",
        libs.len()
    );
    (paths, why)
}

fn build(ws: &Workspace, libs: &[&Project], notes: &mut Vec<String>) -> (String, String) {
    let nx_libs: Vec<&Project> = libs
        .iter()
        .copied()
        .filter(|l| l.project_file.is_some())
        .collect();
    let mut buildable: Vec<&str> = nx_libs
        .iter()
        .filter(|l| l.build.is_some())
        .map(|l| l.name.as_str())
        .collect();
    if buildable.is_empty() && !nx_libs.is_empty() {
        // nx plugins may infer build targets that no project.json shows.
        notes.push(
            "no lib's project.json has a build target: all nx libs are listed in build.command"
                .into(),
        );
        buildable = nx_libs.iter().map(|l| l.name.as_str()).collect();
    }
    if ws.nx && !buildable.is_empty() {
        let command = format!(
            "{} run-many --target=build --projects={} --configuration={CONFIGURATION}",
            ws.pm.nx(),
            buildable.join(",")
        );
        let why = format!(
            "nx builds the libs; their `{CONFIGURATION}` configuration writes under build.output."
        );
        return (command, why);
    }
    if ws.root_build.is_some() {
        let why = "The root package.json build script: make it write under build.output.";
        return (ws.pm.run("build"), why.to_string());
    }
    let scripted: Vec<String> = libs
        .iter()
        .filter(|l| l.build_script.is_some() && !l.dir.as_os_str().is_empty())
        .map(|l| format!("cd {} && {}", l.dir.display(), ws.pm.run("build")))
        .collect();
    if !scripted.is_empty() {
        let command = match scripted.as_slice() {
            [one] => one.clone(),
            many => many
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" && "),
        };
        let why = format!("Each lib's build script in turn: make each write under {OUTPUT}/<lib>.");
        return (command, why);
    }
    notes.push("no build found (no nx libs, no build scripts): edit build.command".into());
    let command = "echo 'set build.command in watch.toml' >&2; exit 1".to_string();
    (
        command,
        "Nothing to build was found: replace this with your build.".into(),
    )
}

/// The file a lib's build writes for its entry point, relative to build.output,
/// for the executors whose layout is known.
fn entry(lib: &Project, sub: &str) -> Option<String> {
    let target = lib.build.as_ref()?;
    let main = Path::new(target.main.as_deref()?);
    let executor = target.executor.as_deref()?;
    let js = |path: &Path| path.with_extension("js").to_string_lossy().into_owned();
    let file = if executor.ends_with(":tsc") || executor.ends_with(":swc") {
        // tsc and swc keep the folders below the project root.
        js(main.strip_prefix(&lib.dir).ok()?)
    } else if executor.ends_with(":esbuild") {
        // esbuild bundles into one file named after the entry point.
        match &target.output_file_name {
            Some(name) => name.clone(),
            None => js(Path::new(main.file_name()?)),
        }
    } else {
        return None;
    };
    Some(join(sub, &file))
}

fn processes(ws: &Workspace, setups: &[AppSetup]) -> Vec<ProcessPlan> {
    let mut taken: Vec<String> = vec!["build".into(), "devloop".into()];
    let mut out = Vec::new();
    for app in ws.projects.iter().filter(|p| p.kind == Kind::App) {
        if let Some(setup) = setups.iter().find(|s| s.name == app.name) {
            let name = unique(process_name(app), &taken);
            taken.push(name.clone());
            if let Runner::Built(built) = &setup.runner {
                let build_name = unique(format!("{name}-build"), &taken);
                taken.push(build_name.clone());
                out.extend(built_processes(ws, name, build_name, setup, built));
            } else {
                out.push(from_setup(ws, name, setup));
            }
            continue;
        }
        let restart = app
            .script
            .as_ref()
            .filter(|_| app.serve.is_none())
            .and_then(|s| crate::advice::restart_reason(&s.text))
            .map(str::to_string);
        let (command, cwd, port, why) = if let Some(serve) = &app.serve {
            let command = format!("{} serve {}", ws.pm.nx(), app.name);
            let executor = serve.executor.as_deref().unwrap_or("a command");
            (
                command,
                None,
                // `@nx/js:node`'s `port` is its inspector's, not the app's.
                serve.port.filter(|_| !executor.ends_with(":node")),
                format!("nx serve target ({executor})."),
            )
        } else if let Some(script) = &app.script {
            let cwd = app.dir.to_string_lossy().into_owned();
            let why = format!("The `{}` script of {cwd}/package.json.", script.name);
            let cwd = (!cwd.is_empty()).then_some(cwd);
            (ws.pm.run(&script.name), cwd, guess_port(&script.text), why)
        } else {
            continue;
        };
        let name = unique(process_name(app), &taken);
        taken.push(name.clone());
        out.push(ProcessPlan {
            name,
            project: app.name.clone(),
            command,
            cwd,
            port,
            why,
            restart,
            env: Vec::new(),
            proxy: false,
            health: None,
            libs_from: None,
            as_it_was: None,
            after: vec!["build".into()],
            builds: false,
        });
    }
    out
}

/// The process of an app whose setup is known (docs/nx-serve.md, "B").
fn from_setup(ws: &Workspace, name: String, setup: &AppSetup) -> ProcessPlan {
    let nx = ws.pm.nx();
    let app = &setup.name;
    let on_source = matches!(setup.libs_from, LibsFrom::Source(_));
    let mut plan = ProcessPlan {
        name,
        project: setup.name.clone(),
        command: String::new(),
        cwd: None,
        port: setup.port,
        why: String::new(),
        restart: None,
        env: Vec::new(),
        proxy: false,
        health: None,
        libs_from: Some(setup.libs_from.clone()),
        as_it_was: None,
        after: vec!["build".into()],
        builds: false,
    };
    match &setup.runner {
        Runner::Node {
            executor,
            build_target,
            bundler,
        } => {
            plan.command = format!("{nx} run {app}:{}", apps::SERVE_TARGET);
            plan.why = format!(
                "{executor} on {build_target}, through the `{}` target init adds: no lib builds first (nothing but devloop writes {TARGET}), no inspector port for two instances to fight over.",
                apps::SERVE_TARGET
            );
            // nx's daemon would watch for it and close on each restart.
            plan.env.push(("NX_DAEMON".into(), "false".into()));
            plan.restart = Some(match bundler {
                apps::Bundler::Esbuild => {
                    "it loads the libs once, at start (NX_MAPPINGS)".to_string()
                }
                apps::Bundler::Webpack => {
                    "webpack bundles the libs at start; its own watch is off, so that only devloop restarts it".to_string()
                }
            });
            plan.proxy = setup.port.is_some();
            if on_source {
                plan.as_it_was = Some(format!("{nx} serve {app}"));
            }
        }
        Runner::Next { target } => {
            plan.command = format!("{nx} {target} {app}");
            plan.why = format!(
                "Next.js through nx's `{target}` target; it sees each promotion by itself."
            );
            if let Some(port) = setup.port {
                plan.env.push(("PORT".into(), port.to_string()));
            }
        }
        Runner::Built(_) => {}
        Runner::Vite => {
            plan.command = format!("{nx} serve {app}");
            plan.why = "Vite through nx's `serve` target; it sees each promotion by itself.".into();
        }
    }
    if !plan.proxy {
        plan.health = setup.port.map(|port| format!("{{ tcp = {port} }}"));
    }
    if on_source && plan.as_it_was.is_none() {
        plan.as_it_was = Some(plan.command.clone());
    }
    plan
}

/// A watch.toml process name from a project name: `@org/web` becomes `web`;
/// a reserved or empty one becomes the folder's name.
fn process_name(app: &Project) -> String {
    let clean = |text: &str| -> String {
        let last = text.rsplit('/').next().unwrap_or(text);
        last.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let usable =
        |name: &String| !name.trim_matches('-').is_empty() && name != "build" && name != "devloop";
    let folder = app.dir.file_name().map(|f| clean(&f.to_string_lossy()));
    [Some(clean(&app.name)), folder]
        .into_iter()
        .flatten()
        .find(usable)
        .unwrap_or_else(|| "app".into())
}

fn unique(name: String, taken: &[String]) -> String {
    let mut candidate = name.clone();
    let mut n = 1;
    while taken.contains(&candidate) {
        n += 1;
        candidate = format!("{name}-{n}");
    }
    candidate
}

/// `path` relative to `dir` when it is inside it ("" for `dir` itself).
fn under(path: &str, dir: &str) -> Option<String> {
    let rest = Path::new(path).strip_prefix(dir).ok()?;
    Some(rest.to_string_lossy().into_owned())
}

fn join(dir: &str, rest: &str) -> String {
    if rest.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{rest}")
    }
}

/// An esbuild-built `@nx/js:node` app as two processes: its build in watch
/// mode, and its bundle run as `@nx/js:node` runs it, restarted by devloop
/// on each promotion (the new instance first, behind the proxy) and by
/// node's `--watch-path` when the build rewrites the bundle.
fn built_processes(
    ws: &Workspace,
    name: String,
    build_name: String,
    setup: &AppSetup,
    built: &apps::Built,
) -> Vec<ProcessPlan> {
    let nx = ws.pm.nx();
    let on_source = matches!(setup.libs_from, LibsFrom::Source(_));
    let build = ProcessPlan {
        name: build_name.clone(),
        project: format!("{} (build)", setup.name),
        // esbuild empties its output at start unless told not to; webpack's
        // `output.clean` only removes what it no longer emits.
        command: format!(
            "{nx} run {} --watch --excludeTaskDependencies{}",
            built.build_target,
            match built.bundler {
                apps::Bundler::Esbuild => " --deleteOutputPath=false",
                apps::Bundler::Webpack => "",
            }
        ),
        cwd: None,
        port: None,
        why: format!(
            "{}'s own build in watch mode: an edit of the app rebuilds {} (the libs stay external: devloop builds them; the bundle is rewritten in place, never deleted, so that the app can always start).",
            setup.name, built.bundle
        ),
        restart: None,
        env: vec![("NX_DAEMON".into(), "false".into())],
        proxy: false,
        health: Some(format!(
            "{{ exec = {} }}",
            super::render::quote(&format!("test -f {}", built.bundle))
        )),
        libs_from: None,
        as_it_was: None,
        after: vec!["build".into()],
        builds: true,
    };
    let mappings: Vec<String> = built
        .mappings
        .iter()
        .map(|(import, output)| format!("\\\"{import}\\\":\\\"$PWD/{output}\\\""))
        .collect();
    let command = format!(
        "NX_MAPPINGS=\"{{{}}}\" exec node --watch-path={} {}",
        mappings.join(","),
        built.bundle_dir,
        built.loader
    );
    let app = ProcessPlan {
        name,
        project: setup.name.clone(),
        command,
        cwd: None,
        port: setup.port,
        why: format!(
            "{} run as @nx/js:node runs it (nx's require override maps each lib to {TARGET}), without `nx run`: a restart takes node's start.",
            built.bundle
        ),
        restart: Some("node loads the libs once, at start".into()),
        env: vec![("NX_FILE_TO_RUN".into(), built.bundle.clone())],
        proxy: setup.port.is_some(),
        health: None,
        libs_from: Some(setup.libs_from.clone()),
        as_it_was: on_source.then(|| format!("{nx} serve {}", setup.name)),
        after: vec![build_name],
        builds: false,
    };
    vec![build, app]
}
