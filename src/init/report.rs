//! What `devloop init` tells the user: what it found, what it wrote, and the
//! project.json changes that keep nx builds out of the promote target.

use super::apps::LibsFrom;
use super::detect::{Kind, Project, Workspace};
use super::plan::{CONFIGURATION, OUTPUT, Plan, TARGET};
use std::fmt::Write;
use std::path::Path;

/// What became of the JSON edits: each file's diff, and the files left alone.
pub struct Changes {
    pub applied: bool,
    pub diffs: Vec<String>,
    pub refused: Vec<String>,
}

pub fn report(ws: &Workspace, plan: &Plan, file: &Path, changes: &Changes) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(ws, plan, file, changes, &mut out);
    out
}

fn write_all(
    ws: &Workspace,
    plan: &Plan,
    file: &Path,
    changes: &Changes,
    out: &mut String,
) -> std::fmt::Result {
    let kind = ws.description();
    writeln!(
        out,
        "devloop init: {kind} using {} ({})",
        ws.pm.name(),
        ws.pm_source
    )?;
    let name_width = ws.projects.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let dir_width = ws
        .projects
        .iter()
        .map(|p| p.dir.as_os_str().len())
        .max()
        .unwrap_or(0);
    for project in &ws.projects {
        let kind = match project.kind {
            Kind::Lib => "lib",
            Kind::App => "app",
        };
        let (name, dir) = (&project.name, project.dir.display().to_string());
        let what = match plan.processes.iter().find(|p| p.project == project.name) {
            Some(process) if process.libs_from.is_some() => format!("runs {}", process.command),
            _ => what(project),
        };
        writeln!(
            out,
            "  {kind}  {name:name_width$}  {dir:dir_width$}  {what}"
        )?;
    }
    writeln!(out, "wrote {}", file.display())?;
    writeln!(out, "  watch    {}", plan.watch_paths.join(", "))?;
    writeln!(out, "  build    {}", plan.build_command)?;
    if let Some(warm) = &plan.warm_command {
        writeln!(
            out,
            "  warm     {warm} (offered in watch.toml, commented out)"
        )?;
    }
    writeln!(out, "  promote  {OUTPUT} into {TARGET}")?;
    if !plan.require.is_empty() {
        writeln!(out, "  require  {}", plan.require.join(", "))?;
    }
    for process in &plan.processes {
        let cwd = process
            .cwd
            .as_deref()
            .map(|c| format!(" (in {c})"))
            .unwrap_or_default();
        writeln!(out, "  process  {}: {}{cwd}", process.name, process.command)?;
        if let Some(why) = &process.restart {
            writeln!(out, "           on_promote = \"restart\": {why}")?;
        }
    }
    let sources: Vec<_> = plan
        .processes
        .iter()
        .filter_map(|p| Some((&p.name, p.libs_from.as_ref()?, p.as_it_was.is_some())))
        .collect();
    if !sources.is_empty() {
        writeln!(out, "where each app gets the libs:")?;
    }
    for (name, libs_from, changed) in sources {
        match libs_from {
            LibsFrom::Dist(how) => writeln!(out, "  {name}: from {TARGET} ({how})")?,
            LibsFrom::Source(how) => {
                writeln!(
                    out,
                    "  {name}: from their SOURCE ({how}): it compiles them itself, so devloop's build neither gates nor feeds it; a lib edit that fails the build still reaches it"
                )?;
                if changed {
                    writeln!(
                        out,
                        "    the changes below make it take them from {TARGET} (only a build that passed reaches it); watch.toml also shows how to supervise it as it is"
                    )?;
                }
            }
        }
    }
    for note in &plan.notes {
        writeln!(out, "note: {note}")?;
    }
    if !plan.changes.is_empty() {
        writeln!(
            out,
            "\n{} nx lib(s) build into {TARGET}, where the apps that use it import them from. Why that must change: nx's @nx/js:tsc and esbuild executors delete outputPath before building (clean/deleteOutputPath default to true) and nx cache restores delete outputs too, so the build must write under build.output ({OUTPUT}) and devloop promotes it into {TARGET} atomically.",
            plan.changes.len()
        )?;
        writeln!(
            out,
            "Until a lib has the `{CONFIGURATION}` configuration, nx ignores --configuration={CONFIGURATION} for it and still builds into {TARGET}."
        )?;
    }
    if !changes.diffs.is_empty() {
        match changes.applied {
            true => writeln!(out, "\nchanged (devloop init --apply):")?,
            false => writeln!(
                out,
                "\nchanges the setup needs (`devloop init --apply` makes them; or make them by hand):"
            )?,
        }
    }
    for diff in &changes.diffs {
        write!(out, "{diff}")?;
    }
    for refused in &changes.refused {
        writeln!(out, "not changed: {refused}")?;
    }
    for by_hand in &plan.by_hand {
        writeln!(out, "by hand: {by_hand}")?;
    }
    writeln!(out, "\nnext: `devloop check`, then `devloop`")
}

/// How a project builds or runs, in a few words.
fn what(project: &Project) -> String {
    let executor = |e: &Option<String>| e.clone().unwrap_or_else(|| "a command".into());
    match (
        project.kind,
        &project.build,
        &project.serve,
        &project.script,
    ) {
        (Kind::Lib, Some(build), _, _) => {
            let into = build.output_path.as_deref().unwrap_or("(no outputPath)");
            let done = if build.devloop_output.is_some() {
                format!(", has the `{CONFIGURATION}` configuration")
            } else {
                String::new()
            };
            format!("build {} -> {into}{done}", executor(&build.executor))
        }
        (Kind::Lib, None, _, _) if project.project_file.is_some() => "no build target".into(),
        (Kind::Lib, None, _, _) => "package".into(),
        (Kind::App, _, Some(serve), _) => format!("serve {}", executor(&serve.executor)),
        (Kind::App, _, None, Some(script)) => format!("script {}: {}", script.name, script.text),
        (Kind::App, _, None, None) => {
            "no serve target or dev/serve/start script: no process".into()
        }
    }
}
