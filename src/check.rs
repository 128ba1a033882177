//! `devloop check`: what devloop would watch and run, in words.

use crate::config::{Config, Dependency, OnPromote, Probe, format_duration};
use std::fmt::Write;
use std::path::Path;

pub fn describe(config: &Config) -> String {
    let mut out = String::new();
    let _ = describe_into(config, &mut out);
    out
}

fn describe_into(config: &Config, out: &mut String) -> std::fmt::Result {
    let list = |paths: &[std::path::PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let patterns = |patterns: &[crate::config::Pattern]| {
        patterns
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let watch = &config.watch;
    writeln!(out, "config    {}", config.file.display())?;
    writeln!(out, "workspace {}", config.root.display())?;
    writeln!(
        out,
        "watch     {} (debounce {})",
        list(&watch.paths),
        format_duration(watch.debounce)
    )?;
    if !watch.include.is_empty() {
        writeln!(out, "  include {}", patterns(&watch.include))?;
    }
    writeln!(
        out,
        "  exclude .git, node_modules, build output, promote target{}{}",
        if watch.exclude.is_empty() { "" } else { ", " },
        patterns(&watch.exclude)
    )?;
    let build = &config.build;
    writeln!(out, "build     {}", build.command)?;
    writeln!(out, "  runs    {}", program(build.program.as_deref()))?;
    if let Some(output) = &build.output {
        writeln!(out, "  output  {}", output.display())?;
    }
    writeln!(
        out,
        "  timeout {}, on change: {:?}",
        format_duration(build.timeout),
        build.on_change
    )?;
    for line in crate::warm::describe(build) {
        writeln!(out, "{line}")?;
    }
    if let Some(promote) = &config.promote {
        writeln!(
            out,
            "promote   into {} (keep {})",
            promote.target.display(),
            promote.keep
        )?;
        if !promote.require.is_empty() {
            writeln!(out, "  require {}", list(&promote.require))?;
        }
        if let Some(window) = promote.auto_rollback {
            let window = format_duration(window);
            writeln!(
                out,
                "  rolls back by itself when a ready process fails within {window}"
            )?;
        }
    }
    for process in &config.processes {
        writeln!(out, "process   {}: {}", process.name, process.command)?;
        writeln!(out, "  runs    {}", program(process.program.as_deref()))?;
        if !process.cwd.as_os_str().is_empty() {
            writeln!(out, "  cwd     {}", process.cwd.display())?;
        }
        let after: Vec<&str> = process
            .after
            .iter()
            .map(|d| match d {
                Dependency::Build => "build",
                Dependency::Process(name) => name.as_str(),
            })
            .collect();
        if !after.is_empty() {
            writeln!(out, "  after   {}", after.join(", "))?;
        }
        let on_promote = match process.on_promote {
            OnPromote::None => "none".to_string(),
            OnPromote::Restart => "restart".to_string(),
            OnPromote::Signal(signal) => format!("signal {}", signal.name),
        };
        writeln!(
            out,
            "  restart {:?}, on promote: {on_promote}, stop {:?} then SIGKILL after {}",
            process.restart,
            process.stop_signal,
            format_duration(process.stop_timeout)
        )?;
        if process.on_promote != OnPromote::Restart
            && let Some(why) = crate::advice::restart_reason(&process.command)
        {
            writeln!(out, "  advice  set on_promote = \"restart\": {why}")?;
        }
        if let Some(promote) = &config.promote {
            foreign_writers(config, process, &promote.target, out)?;
            bypass(config, process, &promote.target, out)?;
        }
        match process.port {
            Some(port) if process.proxy => {
                writeln!(
                    out,
                    "  port    {port}, held by devloop (proxy): each instance listens on a private port given in $PORT"
                )?;
                if process.command.contains("next") && process.command.contains(" dev") {
                    writeln!(
                        out,
                        "  note    next dev locks its distDir: set it from $DEVLOOP_INSTANCE (0 or 1) so two can run at once (docs/processes.md, Proxy)"
                    )?;
                }
                if !process.command.contains("PORT") && process.command.contains("vite") {
                    writeln!(
                        out,
                        "  note    vite does not read PORT: add `--port $PORT` to the command"
                    )?;
                }
            }
            Some(port) => writeln!(out, "  port    {port}")?,
            None => {}
        }
        if let Some(health) = &process.health {
            let probe = match &health.probe {
                Probe::Http(url) => format!("http {url}"),
                Probe::Tcp(port) => format!("tcp {port}"),
                Probe::Exec(command) => format!("exec {command}"),
            };
            writeln!(
                out,
                "  health  {probe} every {}, {} failures restart",
                format_duration(health.interval),
                health.retries
            )?;
        }
    }
    write!(out, "ok")
}

/// Tasks an nx process runs first (or its executor runs) that write into the
/// promote target: only devloop may write there.
fn foreign_writers(
    config: &Config,
    process: &crate::config::ProcessConfig,
    target: &Path,
    out: &mut String,
) -> std::fmt::Result {
    let Some(run) = crate::nx_tasks::parse(&process.command) else {
        return Ok(());
    };
    let cwd = config.root.join(&process.cwd);
    let writers = match crate::nx_tasks::writers_into(&run, &cwd, target) {
        Ok(writers) => writers,
        Err(why) => {
            return writeln!(
                out,
                "  note    could not ask nx which tasks `{}` runs first: {why}",
                run.task()
            );
        }
    };
    let target = target.display();
    for writer in writers {
        let (runs, remedy) = if writer.by_executor {
            (
                format!(
                    "its executor runs {} (runBuildTargetDependencies)",
                    writer.task
                ),
                format!(
                    "set `runBuildTargetDependencies` to false in {}'s options",
                    run.task()
                ),
            )
        } else {
            (
                format!("nx runs {} first", writer.task),
                "add `--excludeTaskDependencies` to the command".to_string(),
            )
        };
        writeln!(
            out,
            "  warning {runs}, which writes {} inside the promote target {target}: only devloop may write there (that build deletes and rewrites it in place while the apps read it, after devloop's promotion). devloop builds the libs: {remedy}",
            writer.output
        )?;
    }
    Ok(())
}

/// An nx app that compiles the libs' source itself: devloop's build neither
/// gates nor feeds it, so a lib edit that fails the build still reaches it.
fn bypass(
    config: &Config,
    process: &crate::config::ProcessConfig,
    target: &Path,
    out: &mut String,
) -> std::fmt::Result {
    // init's rules know nx's layout, with the promote target it writes.
    if target != Path::new(crate::init::TARGET) {
        return Ok(());
    }
    let Some(run) = crate::nx_tasks::parse(&process.command) else {
        return Ok(());
    };
    let Some(how) = crate::init::bypasses_promotion(&config.root, &run.project) else {
        return Ok(());
    };
    writeln!(
        out,
        "  warning {} gets the libs from their source ({how}), not from {}: it compiles them itself, so devloop's build neither gates nor feeds it, and a lib edit that fails the build still reaches it. `devloop init` shows the changes that make it use {} (`devloop init --apply --force` makes them)",
        run.project,
        target.display(),
        target.display()
    )
}

fn program(path: Option<&Path>) -> String {
    path.map_or("(a shell command)".to_string(), |p| p.display().to_string())
}
