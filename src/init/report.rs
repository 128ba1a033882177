//! What `devloop init` tells the user: what it found, what it wrote, and the
//! project.json changes that keep nx builds out of the promote target.

use super::detect::{Kind, Project, Workspace};
use super::plan::{CONFIGURATION, OUTPUT, Plan, TARGET};
use std::fmt::Write;
use std::path::Path;

pub fn report(ws: &Workspace, plan: &Plan, file: &Path) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(ws, plan, file, &mut out);
    out
}

fn write_all(ws: &Workspace, plan: &Plan, file: &Path, out: &mut String) -> std::fmt::Result {
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
        let what = what(project);
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
        if let Some(why) = process.restart {
            writeln!(out, "           on_promote = \"restart\": {why}")?;
        }
    }
    for note in &plan.notes {
        writeln!(out, "note: {note}")?;
    }
    if !plan.changes.is_empty() {
        writeln!(
            out,
            "\n{} nx lib(s) build into {TARGET}, which the apps import. Why that must change: nx's @nx/js:tsc and esbuild executors delete outputPath before building (clean/deleteOutputPath default to true) and nx cache restores delete outputs too, so the build must write under build.output ({OUTPUT}) and devloop promotes it into {TARGET} atomically.",
            plan.changes.len()
        )?;
        writeln!(
            out,
            "Until a lib has the `{CONFIGURATION}` configuration, nx ignores --configuration={CONFIGURATION} for it and still builds into {TARGET}."
        )?;
    }
    for change in &plan.changes {
        writeln!(
            out,
            "\n{}: lib {} ({}, outputPath {}); add to targets.build:",
            change.project_file.display(),
            change.lib,
            change.executor,
            change.from
        )?;
        writeln!(out, "      \"configurations\": {{")?;
        writeln!(
            out,
            "        \"{CONFIGURATION}\": {{ \"outputPath\": \"{}\" }}",
            change.to
        )?;
        writeln!(out, "      }}")?;
    }
    if !plan.changes.is_empty() {
        writeln!(
            out,
            "\n(where targets.build already has \"configurations\", add the \"{CONFIGURATION}\" entry to them)"
        )?;
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
