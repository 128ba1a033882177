//! Each nx app as devloop must run it: how it is served, where it gets the
//! libs (from `dist/libs`, which devloop's promotion feeds, or from their
//! source, which it compiles itself), the port it listens on, and the JSON
//! edits that make it take the libs from `dist/libs` (docs/nx-serve.md has
//! the executors' source behind each rule).

use super::detect::{Kind, Project, Workspace};
use super::json::{self, str_at};
use super::plan::TARGET;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The target init adds beside `serve` for an `@nx/js:node` app.
pub const SERVE_TARGET: &str = "serve-devloop";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundler {
    Esbuild,
    Webpack,
}

#[derive(Debug, Clone)]
pub enum Runner {
    /// `@nx/js:node` running the app's own build (`build_target`).
    Node {
        executor: String,
        build_target: String,
        bundler: Bundler,
    },
    /// Next.js, through nx's `target` (the plugin's `dev`, or `@nx/next:server`).
    Next { target: String },
    /// Vite, through nx's `serve` target.
    Vite,
    /// The app's esbuild bundle run directly, as `@nx/js:node` runs it (its
    /// require override maps the libs to the promote target), beside its
    /// build in watch mode: a restart takes node's start, not `nx run`'s.
    Built(Built),
}

#[derive(Debug, Clone)]
pub struct Built {
    /// The build task, `app:build:development`.
    pub build_target: String,
    /// The bundle, workspace-relative (`dist/apps/api/main.js`).
    pub bundle: String,
    /// Its folder, which node watches for the app's own rebuilds.
    pub bundle_dir: String,
    /// `@nx/js`'s require override, workspace-relative.
    pub loader: String,
    /// Each lib's import path and folder in the promote target.
    pub mappings: Vec<(String, String)>,
    pub bundler: Bundler,
}

/// Where `@nx/js` keeps the loader `@nx/js:node` forks (nx 23, then older).
const LOADERS: &[&str] = &[
    "node_modules/@nx/js/dist/src/executors/node/node-with-require-overrides.js",
    "node_modules/@nx/js/src/executors/node/node-with-require-overrides.js",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibsFrom {
    /// From the promote target; the text says how.
    Dist(String),
    /// From `libs/*/src`; the text says how.
    Source(String),
}

/// One change to one JSON file.
#[derive(Debug, Clone)]
pub struct Edit {
    pub file: PathBuf,
    pub path: Vec<String>,
    pub key: String,
    pub value: Value,
}

/// Lines inserted after the one line of a JavaScript config that holds
/// `after` (init refuses a file where it is missing or not unique).
#[derive(Debug, Clone)]
pub struct TextEdit {
    pub file: PathBuf,
    pub after: &'static str,
    pub insert: String,
}

#[derive(Debug, Clone)]
pub struct AppSetup {
    pub name: String,
    pub runner: Runner,
    pub libs_from: LibsFrom,
    pub port: Option<u16>,
    /// What makes it run under devloop with the libs from the target.
    pub edits: Vec<Edit>,
    pub text_edits: Vec<TextEdit>,
    /// What init could not do itself (a JavaScript config file).
    pub by_hand: Option<String>,
}

/// A lib as apps import it: its import path (tsconfig `paths` key) and
/// where its build writes inside the promote target.
#[derive(Debug, Clone)]
pub struct LibImport {
    pub import: String,
    pub output: String,
}

/// The libs the apps can import from the promote target.
pub fn lib_imports(ws: &Workspace) -> Vec<LibImport> {
    let base = ["tsconfig.base.json", "tsconfig.json"]
        .iter()
        .find_map(|f| json::read(&ws.root, Path::new(f)).ok().flatten());
    let Some(paths) = base
        .as_ref()
        .and_then(|b| b.pointer("/compilerOptions/paths"))
    else {
        return Vec::new();
    };
    let Some(paths) = paths.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (import, to) in paths {
        let Some(first) = to.get(0).and_then(Value::as_str) else {
            continue;
        };
        let first = first.trim_start_matches("./");
        let lib = ws.projects.iter().find(|p| {
            p.kind == Kind::Lib
                && !p.dir.as_os_str().is_empty()
                && Path::new(first).starts_with(&p.dir)
        });
        let output = lib
            .and_then(|l| l.build.as_ref())
            .and_then(|b| b.output_path.clone())
            .filter(|o| Path::new(o).starts_with(TARGET));
        if let Some(output) = output {
            out.push(LibImport {
                import: import.clone(),
                output,
            });
        }
    }
    out
}

/// The setup of every app init knows how to run, in the workspace's order.
pub fn setups(ws: &Workspace, libs: &[LibImport]) -> Vec<AppSetup> {
    let plugins = plugins(ws);
    let mut taken_ports = Vec::new();
    let mut out = Vec::new();
    for app in ws.projects.iter().filter(|p| p.kind == Kind::App) {
        if let Some(mut setup) = setup(ws, app, libs, &plugins) {
            if matches!(setup.runner, Runner::Next { .. } | Runner::Vite) {
                // nx's default for web apps; the next free one for a second.
                let mut port = setup.port.unwrap_or(4200);
                // Another app's, or a server's that answers there now: the
                // next one. (A connect, not a bind: a bind would also see
                // another init probing the same port at the same moment.)
                while taken_ports.contains(&port) || answers(port) {
                    port += 1;
                }
                setup.port = Some(port);
            }
            taken_ports.extend(setup.port);
            out.push(setup);
        }
    }
    out
}

/// The setup of one app, or None when it is none of the kinds known here.
pub fn setup(
    ws: &Workspace,
    app: &Project,
    libs: &[LibImport],
    plugins: &[(String, Value)],
) -> Option<AppSetup> {
    let file = app.project_file.clone()?;
    let project = json::read(&ws.root, &file).ok().flatten()?;
    let targets = project.get("targets");
    let dir = ws.root.join(&app.dir);
    let has = |stem: &str| {
        ["js", "mjs", "cjs", "ts", "mts"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .find(|p| p.is_file())
    };
    let node = targets.and_then(Value::as_object).and_then(|t| {
        let is_node = |v: &Value| str_at(v, "executor").is_some_and(|e| e.ends_with(":node"));
        t.get("serve")
            .filter(|v| is_node(v))
            .or_else(|| t.values().find(|v| is_node(v)))
    });
    if let Some(serve) = node {
        return node_setup(ws, app, &file, &project, serve, libs);
    }
    if let Some(config) = has("next.config") {
        let server = targets
            .and_then(|t| t.get("serve"))
            .filter(|s| str_at(s, "executor").is_some_and(|e| e.ends_with("next:server")));
        let target = match server {
            Some(_) => "serve".to_string(),
            None => plugin_target(plugins, "@nx/next/plugin", "devTargetName", "dev")?,
        };
        let port = server
            .and_then(|s| s.pointer("/options/port"))
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok());
        let (libs_from, edits) = web_libs(ws, app, &config, libs);
        return Some(AppSetup {
            name: app.name.clone(),
            runner: Runner::Next { target },
            libs_from,
            port,
            edits,
            text_edits: Vec::new(),
            by_hand: None,
        });
    }
    if let Some(config) = has("vite.config") {
        plugin_target(plugins, "@nx/vite/plugin", "serveTargetName", "serve")
            .or_else(|| targets.and_then(|t| t.get("serve")).map(|_| "serve".into()))?;
        let text = std::fs::read_to_string(&config).unwrap_or_default();
        let libs_from = if text.contains(TARGET) {
            LibsFrom::Dist(format!("{} aliases them into {TARGET}", shown(ws, &config)))
        } else {
            LibsFrom::Source("nxViteTsPaths() resolves them to libs/*/src".into())
        };
        let by_hand = matches!(libs_from, LibsFrom::Source(_)).then(|| {
            format!(
                "{}: alias each lib to its folder in {TARGET} (resolve.alias), and keep nxViteTsPaths' buildLibsFromSource at true (false adds nx's own lib builds into {TARGET})",
                shown(ws, &config)
            )
        });
        return Some(AppSetup {
            name: app.name.clone(),
            runner: Runner::Vite,
            libs_from,
            port: number_after(&text, "port:"),
            edits: Vec::new(),
            text_edits: Vec::new(),
            by_hand,
        });
    }
    None
}

fn node_setup(
    ws: &Workspace,
    app: &Project,
    file: &Path,
    project: &Value,
    serve: &Value,
    libs: &[LibImport],
) -> Option<AppSetup> {
    let executor = str_at(serve, "executor")?.to_string();
    let options_target = serve
        .pointer("/options/buildTarget")
        .and_then(Value::as_str)?;
    let (build_project, build_name) = {
        let mut parts = options_target.split(':');
        (parts.next()?, parts.next()?)
    };
    // The app's own build only: another project's is not read here.
    if build_project != app.name {
        return None;
    }
    let build = project.pointer(&format!("/targets/{build_name}"))?;
    let build_executor = str_at(build, "executor")?;
    let bundler = if build_executor.ends_with(":esbuild") {
        Bundler::Esbuild
    } else if build_executor.ends_with(":webpack") {
        Bundler::Webpack
    } else {
        return None;
    };
    let has_development = build.pointer("/configurations/development").is_some();
    let build_target = match has_development {
        true => format!("{build_project}:{build_name}:development"),
        false => options_target.to_string(),
    };
    let options = build.get("options");
    let option = |key: &str| options.and_then(|o| o.get(key));
    // A change to one of the build's options.
    let option_edit = |key: &str, value: Value| Edit {
        file: file.to_path_buf(),
        path: vec!["targets".into(), build_name.into(), "options".into()],
        key: key.into(),
        value,
    };
    let mut edits = Vec::new();
    let mut text_edits = Vec::new();
    let mut by_hand = None;
    // The bundle leaves the libs to node (once the edits are made).
    let mut libs_external = false;
    let libs_from = match bundler {
        Bundler::Esbuild => {
            let external: Vec<String> = option("external")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let bundled = option("bundle").and_then(Value::as_bool) != Some(false);
            let missing: Vec<&LibImport> = libs
                .iter()
                .filter(|l| !external.contains(&l.import))
                .collect();
            if bundled && missing.is_empty() {
                LibsFrom::Dist(format!(
                    "esbuild leaves them `external`; {executor} maps them to {TARGET} (NX_MAPPINGS) and loads them once"
                ))
            } else {
                let mut all = external.clone();
                all.extend(missing.iter().map(|l| l.import.clone()));
                edits.push(option_edit("external", json!(all)));
                if !bundled {
                    edits.push(option_edit("bundle", json!(true)));
                }
                LibsFrom::Source("esbuild bundles libs/*/src through tsconfig paths".into())
            }
        }
        Bundler::Webpack => {
            let config = option("webpackConfig").and_then(Value::as_str);
            let config_text = config
                .map(|c| std::fs::read_to_string(ws.root.join(c)).unwrap_or_default())
                .unwrap_or_default();
            let external = webpack_external(&config_text, libs);
            if !external && let Some(config) = config {
                text_edits = webpack_externals_edits(&config_text, Path::new(config), libs);
            }
            libs_external = external || !text_edits.is_empty();
            let set_in_config = config_text.contains("buildLibsFromSource");
            match option("buildLibsFromSource").and_then(Value::as_bool) {
                _ if external => LibsFrom::Dist(format!(
                    "webpack leaves them external ({}); {executor} maps them to {TARGET} (NX_MAPPINGS) and loads them once",
                    config.unwrap_or_default()
                )),
                Some(false) => LibsFrom::Dist(format!(
                    "webpack bundles them from {TARGET} (buildLibsFromSource: false) and sees each promotion"
                )),
                _ if set_in_config && config_text.contains("buildLibsFromSource: false") => {
                    LibsFrom::Dist(format!(
                        "webpack bundles them from {TARGET} (buildLibsFromSource: false in {})",
                        config.unwrap_or_default()
                    ))
                }
                _ => {
                    // Kept external, the libs need no bundling from the target.
                    if libs_external {
                        // nothing more to change
                    } else if set_in_config {
                        by_hand = Some(format!(
                            "{}: set buildLibsFromSource to false",
                            config.unwrap_or_default()
                        ));
                    } else {
                        edits.push(option_edit("buildLibsFromSource", json!(false)));
                    }
                    LibsFrom::Source(
                        "webpack compiles libs/*/src (buildLibsFromSource defaults to true)".into(),
                    )
                }
            }
        }
    };
    let main = option("main").and_then(Value::as_str);
    let port = main
        .and_then(|m| std::fs::read_to_string(ws.root.join(m)).ok())
        .and_then(|text| number_after(&text, "process.env.PORT"));
    let output_path = option("outputPath")
        .and_then(Value::as_str)
        .map(|p| super::nx::resolve(p, &app.dir));
    let file_name = option("outputFileName").and_then(Value::as_str);
    // webpack names the bundle main.js whatever the entry's name.
    let file_name = match bundler {
        Bundler::Esbuild => file_name,
        Bundler::Webpack => file_name.or(Some("main.js")),
    };
    let built = match bundler {
        Bundler::Webpack if !libs_external => None,
        _ => built(ws, &build_target, output_path, main, file_name, libs),
    }
    .map(|built| Built { bundler, ..built });
    let runner = match built {
        Some(built) => Runner::Built(built),
        None => {
            if project
                .pointer(&format!("/targets/{SERVE_TARGET}"))
                .is_none()
            {
                edits.push(Edit {
                    file: file.to_path_buf(),
                    path: vec!["targets".into()],
                    key: SERVE_TARGET.into(),
                    value: json!({
                        "executor": executor,
                        "options": {
                            "buildTarget": build_target,
                            "runBuildTargetDependencies": false,
                            "inspect": false,
                            // webpack bundles the libs and sees promotions: its
                            // own restart would come beside devloop's, outside
                            // the proxy.
                            "watch": bundler == Bundler::Esbuild,
                        }
                    }),
                });
            }
            Runner::Node {
                executor,
                build_target,
                bundler,
            }
        }
    };
    Some(AppSetup {
        name: app.name.clone(),
        runner,
        libs_from,
        port,
        edits,
        text_edits,
        by_hand,
    })
}

/// An esbuild app's bundle run directly: esbuild leaves the libs external,
/// so node loads them from the target at each start. Needs `@nx/js`
/// installed (its loader) and the bundle's path.
fn built(
    ws: &Workspace,
    build_target: &str,
    output_path: Option<String>,
    main: Option<&str>,
    file_name: Option<&str>,
    libs: &[LibImport],
) -> Option<Built> {
    let loader = LOADERS.iter().find(|l| ws.root.join(l).is_file())?;
    let out = output_path?;
    let file = match file_name {
        Some(name) => name.to_string(),
        None => format!("{}.js", Path::new(main?).file_stem()?.to_string_lossy()),
    };
    Some(Built {
        build_target: build_target.to_string(),
        bundle: format!("{out}/{file}"),
        bundle_dir: out,
        loader: loader.to_string(),
        mappings: libs
            .iter()
            .map(|l| (l.import.clone(), l.output.clone()))
            .collect(),
        bundler: Bundler::Esbuild,
    })
}

/// webpack.config.js leaves every lib to node: `externals` naming each
/// import, kept beside nx's own by `mergeExternals`.
fn webpack_external(config_text: &str, libs: &[LibImport]) -> bool {
    !libs.is_empty()
        && config_text.contains("externals")
        && config_text.contains("mergeExternals: true")
        && libs
            .iter()
            .all(|l| config_text.contains(&format!("\"{}\"", l.import)))
}

/// The lines that keep the libs out of an `NxAppWebpackPlugin` config as
/// nx generates it (`module.exports = {`, one plugin); none for another shape.
fn webpack_externals_edits(config_text: &str, config: &Path, libs: &[LibImport]) -> Vec<TextEdit> {
    const EXPORTS: &str = "module.exports = {";
    const PLUGIN: &str = "new NxAppWebpackPlugin({";
    let once = |anchor: &str| config_text.matches(anchor).count() == 1;
    if libs.is_empty() || config_text.contains("externals") || !once(EXPORTS) || !once(PLUGIN) {
        return Vec::new();
    }
    let imports: Vec<String> = libs.iter().map(|l| format!("\"{}\"", l.import)).collect();
    vec![
        TextEdit {
            file: config.to_path_buf(),
            after: EXPORTS,
            insert: format!(
                "  // devloop: the libs stay out of the bundle; node loads them from {TARGET} at each start.\n  externals: [({{ request }}, callback) =>\n    [{}].includes(request) ? callback(null, `commonjs ${{request}}`) : callback()],\n",
                imports.join(", ")
            ),
        },
        TextEdit {
            file: config.to_path_buf(),
            after: PLUGIN,
            insert: "      mergeExternals: true,\n".into(),
        },
    ]
}

/// Next.js (and any app TypeScript resolves for): where its tsconfig `paths`
/// send the libs, and the `paths` that send them into the target.
fn web_libs(
    ws: &Workspace,
    app: &Project,
    config: &Path,
    libs: &[LibImport],
) -> (LibsFrom, Vec<Edit>) {
    let tsconfig_file = app.dir.join("tsconfig.json");
    let tsconfig = json::read(&ws.root, &tsconfig_file).ok().flatten();
    let own_paths = tsconfig
        .as_ref()
        .and_then(|t| t.pointer("/compilerOptions/paths"))
        .and_then(Value::as_object)
        .cloned();
    let base_url = tsconfig
        .as_ref()
        .and_then(|t| t.pointer("/compilerOptions/baseUrl"))
        .and_then(Value::as_str)
        .unwrap_or(".");
    let into_target = |to: &str| {
        let resolved = normalize(&app.dir.join(base_url).join(to));
        resolved.starts_with(TARGET)
    };
    let from_dist = !libs.is_empty()
        && libs.iter().all(|lib| {
            own_paths
                .as_ref()
                .and_then(|p| p.get(&lib.import))
                .and_then(|v| v.get(0))
                .and_then(Value::as_str)
                .is_some_and(into_target)
        });
    if from_dist {
        return (
            LibsFrom::Dist(format!(
                "{} `paths` point into {TARGET}",
                tsconfig_file.display()
            )),
            Vec::new(),
        );
    }
    let config_text = std::fs::read_to_string(config).unwrap_or_default();
    if config_text.contains(TARGET) {
        return (
            LibsFrom::Dist(format!("{} aliases them into {TARGET}", shown(ws, config))),
            Vec::new(),
        );
    }
    let mut edits = Vec::new();
    // One that does not parse still gets its edits: they are refused, by name.
    if ws.root.join(&tsconfig_file).is_file() {
        // An app's own `paths` replace the base's whole: keep the others.
        let up = "../".repeat(app.dir.components().count());
        let base_paths = ["tsconfig.base.json", "tsconfig.json"]
            .iter()
            .find_map(|f| json::read(&ws.root, Path::new(f)).ok().flatten())
            .and_then(|b| b.pointer("/compilerOptions/paths").cloned())
            .and_then(|p| p.as_object().cloned())
            .unwrap_or_default();
        let mut paths = own_paths.clone().unwrap_or(base_paths);
        if own_paths.is_none() {
            for value in paths.values_mut() {
                if let Some(items) = value.as_array_mut() {
                    for item in items {
                        if let Some(s) = item.as_str() {
                            *item = json!(format!("{up}{}", s.trim_start_matches("./")));
                        }
                    }
                }
            }
        }
        for lib in libs {
            paths.insert(lib.import.clone(), json!([format!("{up}{}", lib.output)]));
        }
        let options = vec!["compilerOptions".to_string()];
        edits.push(Edit {
            file: tsconfig_file.clone(),
            path: options.clone(),
            key: "baseUrl".into(),
            value: json!("."),
        });
        edits.push(Edit {
            file: tsconfig_file,
            path: options,
            key: "paths".into(),
            value: Value::Object(paths),
        });
    }
    (
        LibsFrom::Source("tsconfig paths resolve them to libs/*/src".into()),
        edits,
    )
}

/// nx.json's plugins, each with its options.
pub fn plugins(ws: &Workspace) -> Vec<(String, Value)> {
    let nx_json = json::read(&ws.root, Path::new("nx.json")).ok().flatten();
    let Some(list) = nx_json
        .as_ref()
        .and_then(|n| n.get("plugins"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|p| match p {
            Value::String(name) => Some((name.clone(), Value::Null)),
            Value::Object(_) => Some((
                str_at(p, "plugin")?.to_string(),
                p.get("options").cloned().unwrap_or(Value::Null),
            )),
            _ => None,
        })
        .collect()
}

/// The target name a plugin infers (its option, else nx's default), if the
/// plugin is registered.
fn plugin_target(
    plugins: &[(String, Value)],
    plugin: &str,
    option: &str,
    default: &str,
) -> Option<String> {
    let nrwl = plugin.replace("@nx/", "@nrwl/");
    let (_, options) = plugins
        .iter()
        .find(|(name, _)| *name == plugin || *name == nrwl)?;
    Some(str_at(options, option).unwrap_or(default).to_string())
}

/// Something accepts connections on the port on this machine.
fn answers(port: u16) -> bool {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(200)).is_ok()
}

/// The first whole number after `marker` on its line (`process.env.PORT ||
/// 3000`, `? Number(process.env.PORT) : 3333`, `port: 4200`).
fn number_after(text: &str, marker: &str) -> Option<u16> {
    text.lines().find_map(|line| {
        let rest = &line[line.find(marker)? + marker.len()..];
        let start = rest.find(|c: char| c.is_ascii_digit())?;
        let digits: String = rest[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok().filter(|p| *p > 0)
    })
}

/// A path with `.` and `..` worked out, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn shown(ws: &Workspace, path: &Path) -> String {
    path.strip_prefix(&ws.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_the_generated_mains() {
        let express = "const port = process.env.PORT ? Number(process.env.PORT) : 3333;";
        assert_eq!(number_after(express, "process.env.PORT"), Some(3333));
        let nest = "  const port = process.env.PORT || 3000;";
        assert_eq!(number_after(nest, "process.env.PORT"), Some(3000));
        assert_eq!(
            number_after("listen(process.env.PORT)", "process.env.PORT"),
            None
        );
        assert_eq!(
            number_after("server: { port: 4300, host }", "port:"),
            Some(4300)
        );
    }

    #[test]
    fn webpack_configs_get_externals_only_in_the_shape_nx_generates() {
        let libs = [LibImport {
            import: "@org/a".into(),
            output: "dist/libs/a".into(),
        }];
        let generated = "module.exports = {\n  plugins: [\n    new NxAppWebpackPlugin({\n      target: 'node',\n    }),\n  ],\n};\n";
        let edits = webpack_externals_edits(generated, Path::new("w.js"), &libs);
        assert_eq!(edits.len(), 2);
        assert!(edits[0].insert.contains(r#"["@org/a"].includes(request)"#));
        assert_eq!(edits[1].insert, "      mergeExternals: true,\n");
        let mut applied = generated.to_string();
        for edit in &edits {
            applied = applied.replacen(
                edit.after,
                &format!("{}\n{}", edit.after, edit.insert.trim_end_matches('\n')),
                1,
            );
        }
        assert!(webpack_external(&applied, &libs), "{applied}");
        // nx 16's composePlugins(withNx(), ...): left to the user.
        let composed = "module.exports = composePlugins(withNx(), (config) => config);\n";
        assert!(webpack_externals_edits(composed, Path::new("w.js"), &libs).is_empty());
        let own = format!("{generated}// externals: ours\n");
        assert!(webpack_externals_edits(&own, Path::new("w.js"), &libs).is_empty());
    }

    #[test]
    fn paths_are_normalized_without_the_disk() {
        assert_eq!(
            normalize(Path::new("apps/web/./../../dist/libs/a")),
            PathBuf::from("dist/libs/a")
        );
    }
}
