//! What an nx command runs before the task it is asked for, from nx's own
//! task graph (`nx run P:T --graph=stdout`: nothing is run), so that `check`
//! can name a process whose dependencies' builds write into the promote
//! target: `nx serve api` runs `utils:build` first when the serve target
//! depends on `^build`, and that build deletes and rewrites `dist/libs/utils`
//! in place, after devloop's promotion, while the apps read it.

use serde_json::Value;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long nx may take to print a task graph (it reads the whole workspace).
const GRAPH_WITHIN: Duration = Duration::from_secs(60);

/// nx subcommands that are not `nx <target> <project>`.
const NX_COMMANDS: &[&str] = &[
    "run-many",
    "affected",
    "graph",
    "show",
    "generate",
    "g",
    "watch",
    "exec",
    "daemon",
    "reset",
    "init",
    "add",
    "migrate",
    "release",
    "list",
    "report",
    "format",
    "format:check",
    "format:write",
    "connect",
    "view-logs",
    "repair",
    "sync",
    "import",
    "login",
    "logout",
];

/// One task an nx command runs: `project:target[:configuration]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NxRun {
    /// The words that start nx (`pnpm nx`, `npx nx`, `node_modules/.bin/nx`).
    launcher: String,
    pub project: String,
    pub target: String,
    pub configuration: Option<String>,
    /// `--excludeTaskDependencies` (or `--exclude-task-dependencies`): nx
    /// runs the task alone.
    pub alone: bool,
}

impl NxRun {
    /// The task as nx names it.
    pub fn task(&self) -> String {
        match &self.configuration {
            Some(c) => format!("{}:{}:{c}", self.project, self.target),
            None => format!("{}:{}", self.project, self.target),
        }
    }
}

/// The nx task a process command runs, when it is one (`nx serve api`,
/// `nx run api:serve:development`, `pnpm nx dev web -c dev`).
pub fn parse(command: &str) -> Option<NxRun> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "nx" || w.ends_with("/nx") || w.ends_with("/nx.js"))?;
    let launcher = words[..=at].join(" ");
    let rest = &words[at + 1..];
    let mut configuration = None;
    let alone = rest.iter().any(|w| {
        matches!(
            *w,
            "--excludeTaskDependencies" | "--exclude-task-dependencies"
        )
    });
    let mut plain = Vec::new();
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        if let Some(value) = word.strip_prefix("--configuration=") {
            configuration = Some(value.to_string());
        } else if *word == "--configuration" || *word == "-c" {
            configuration = words.next().map(|w| w.to_string());
        } else if !word.starts_with('-') {
            plain.push(*word);
        }
    }
    let (project, target, named_configuration) = match plain.as_slice() {
        ["run", task, ..] => split_task(task)?,
        [task, ..] if task.contains(':') => split_task(task)?,
        [target, project, ..] if !NX_COMMANDS.contains(target) => {
            (project.to_string(), target.to_string(), None)
        }
        _ => return None,
    };
    Some(NxRun {
        launcher,
        project,
        target,
        configuration: configuration.or(named_configuration),
        alone,
    })
}

fn split_task(task: &str) -> Option<(String, String, Option<String>)> {
    let mut parts = task.split(':');
    let project = parts.next().filter(|p| !p.is_empty())?.to_string();
    let target = parts.next().filter(|t| !t.is_empty())?.to_string();
    Some((project, target, parts.next().map(str::to_string)))
}

/// Why nx could not say what a task runs.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("cannot run `{script}`: {source}")]
    Spawn {
        script: String,
        source: std::io::Error,
    },
    #[error("`{script}` took longer than {}s", GRAPH_WITHIN.as_secs())]
    Slow { script: String },
    #[error("`{script}` failed ({status}): {said}")]
    Failed {
        script: String,
        status: std::process::ExitStatus,
        said: String,
    },
    #[error("`{script}` printed no task graph: {source}")]
    NotAGraph {
        script: String,
        source: serde_json::Error,
    },
    #[error("cannot read buildTarget `{build}` of {task}")]
    BuildTarget { build: String, task: String },
}

/// A task that runs before (or inside) the one asked for and writes into
/// the promote target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// `utils:build`
    pub task: String,
    /// Where it writes, relative to the workspace: `dist/libs/utils`.
    pub output: String,
    /// Run by the executor itself (`runBuildTargetDependencies`), not by nx
    /// before the task.
    pub by_executor: bool,
}

/// The tasks `run` brings along whose outputs are in (or hold) `target`
/// (relative to `root`). Runs nx, which takes seconds.
pub fn writers_into(run: &NxRun, root: &Path, target: &Path) -> Result<Vec<Writer>, GraphError> {
    let graph = task_graph(run, root)?;
    // With --excludeTaskDependencies nx runs the task alone, although its
    // --graph=stdout still lists the dependencies (nx 23.2.1).
    let mut found = match run.alone {
        true => Vec::new(),
        false => outputs_into(&graph, &run.task(), target, false),
    };
    // @nx/js:node builds its buildTarget's dependencies itself when told to.
    let options = target_options(&graph, run);
    let runs_them = options
        .get("runBuildTargetDependencies")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if runs_them && let Some(build) = options.get("buildTarget").and_then(Value::as_str) {
        let build_run = parse(&format!("{} run {build}", run.launcher)).ok_or_else(|| {
            GraphError::BuildTarget {
                build: build.to_string(),
                task: run.task(),
            }
        })?;
        let build_graph = task_graph(&build_run, root)?;
        found.extend(outputs_into(&build_graph, &build_run.task(), target, true));
    }
    found.dedup();
    Ok(found)
}

/// `nx run TASK --graph=stdout`, parsed.
fn task_graph(run: &NxRun, root: &Path) -> Result<Value, GraphError> {
    let alone = if run.alone {
        " --excludeTaskDependencies"
    } else {
        ""
    };
    let script = format!("{} run {}{alone} --graph=stdout", run.launcher, run.task());
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .current_dir(root)
        .env("PATH", crate::config::search_path(root))
        .envs([
            ("NX_DAEMON", "false"),
            ("NX_TUI", "false"),
            ("NX_NO_CLOUD", "true"),
            ("NX_INTERACTIVE", "false"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| GraphError::Spawn {
            script: script.clone(),
            source,
        })?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        let waited = child.try_wait().map_err(|source| GraphError::Spawn {
            script: script.clone(),
            source,
        })?;
        if let Some(status) = waited {
            break status;
        }
        if started.elapsed() > GRAPH_WITHIN {
            crate::child::group::signal_group(child.id(), rustix::process::Signal::KILL);
            let _ = child.wait();
            return Err(GraphError::Slow { script });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        let mut why = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut why);
        }
        let said = why.lines().rev().find(|l| !l.trim().is_empty());
        return Err(GraphError::Failed {
            script,
            status,
            said: said.unwrap_or("").trim().to_string(),
        });
    }
    // nx may print a note before the JSON.
    let json = text.find('{').map_or("", |at| &text[at..]);
    serde_json::from_str(json).map_err(|source| GraphError::NotAGraph { script, source })
}

/// Tasks of `graph` other than `main` whose outputs are in or hold `target`.
fn outputs_into(graph: &Value, main: &str, target: &Path, by_executor: bool) -> Vec<Writer> {
    let Some(tasks) = graph["tasks"]["tasks"].as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (id, task) in tasks {
        if id == main {
            continue;
        }
        let outputs = task["outputs"].as_array().into_iter().flatten();
        for output in outputs.filter_map(Value::as_str) {
            let path = Path::new(output);
            if path.starts_with(target) || target.starts_with(path) {
                found.push(Writer {
                    task: id.clone(),
                    output: output.to_string(),
                    by_executor,
                });
            }
        }
    }
    found.sort_by(|a, b| a.task.cmp(&b.task));
    found
}

/// The options of the task asked for, its configuration's over its own.
fn target_options(graph: &Value, run: &NxRun) -> serde_json::Map<String, Value> {
    let target = &graph["graph"]["nodes"][&run.project]["data"]["targets"][&run.target];
    let mut options = target["options"].as_object().cloned().unwrap_or_default();
    let configuration = run
        .configuration
        .as_deref()
        .or_else(|| target["defaultConfiguration"].as_str());
    if let Some(name) = configuration
        && let Some(overrides) = target["configurations"][name].as_object()
    {
        options.extend(overrides.clone());
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        project: &str,
        target: &str,
        configuration: Option<&str>,
    ) -> (String, String, Option<String>) {
        (project.into(), target.into(), configuration.map(Into::into))
    }

    #[test]
    fn reads_the_task_from_the_ways_nx_is_run() {
        let cases = [
            ("nx serve api", run("api", "serve", None)),
            (
                "pnpm nx dev web -c development",
                run("web", "dev", Some("development")),
            ),
            (
                "npx nx run api:serve:production",
                run("api", "serve", Some("production")),
            ),
            (
                "yarn nx run api:serve --configuration=devloop",
                run("api", "serve", Some("devloop")),
            ),
            (
                "node_modules/.bin/nx serve api --port 4000",
                run("api", "serve", None),
            ),
            ("nx api:serve", run("api", "serve", None)),
        ];
        for (command, want) in cases {
            let got = parse(command).unwrap_or_else(|| panic!("{command}"));
            assert_eq!(
                (got.project, got.target, got.configuration),
                want,
                "{command}"
            );
        }
        for none in ["nx run-many -t build", "next dev", "nx graph", "nx"] {
            assert_eq!(parse(none), None, "{none}");
        }
    }

    #[test]
    fn outputs_in_or_around_the_target_count_and_the_main_task_does_not() {
        let graph = serde_json::json!({"tasks": {"tasks": {
            "api:serve": {"outputs": []},
            "utils:build": {"outputs": ["dist/libs/utils"]},
            "all:build": {"outputs": ["dist"]},
            "api:build": {"outputs": ["dist/apps/api"]},
        }}});
        let found = outputs_into(&graph, "api:serve", Path::new("dist/libs"), false);
        let tasks: Vec<&str> = found.iter().map(|w| w.task.as_str()).collect();
        assert_eq!(tasks, ["all:build", "utils:build"]);
    }
}
