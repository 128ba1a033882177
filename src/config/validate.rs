//! From the raw file to a checked `Config`: defaults, paths, overlaps,
//! programs, process dependencies. Every error points into the file.

use super::duration::Dur;
use super::error::ConfigError;
use super::program::{first_program, resolve, shell_has_exec_options, uses_exec_options};
use super::ranges::{self, Bounds};
use super::schema::{RawBuild, RawConfig, RawHealth, RawProcess, RawPromote, RawWatch};
use super::suggest::{closest, with_suggestion};
use super::*;
use std::ops::Range;
use std::path::Component;
use toml::Spanned;

/// Turns spans into located errors for one file.
pub(super) struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    root: PathBuf,
}

impl Checker<'_> {
    pub(super) fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.file, self.text, span, message)
    }

    /// A workspace-relative path, lexically normalized; it must stay inside the workspace.
    fn relative(&self, value: &Spanned<String>, what: &str) -> Result<PathBuf, ConfigError> {
        let path = Path::new(value.get_ref().trim());
        let path = path.strip_prefix(&self.root).unwrap_or(path);
        let mut normal = PathBuf::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => normal.push(part),
                Component::CurDir => {}
                Component::ParentDir if normal.pop() => {}
                _ => {
                    return Err(self.error(
                        value.span(),
                        format!(
                            "{what} `{}` must be a path inside the workspace ({})",
                            value.get_ref(),
                            self.root.display()
                        ),
                    ));
                }
            }
        }
        if normal.as_os_str().is_empty() {
            return Err(self.error(
                value.span(),
                format!("{what} cannot be the workspace root itself"),
            ));
        }
        Ok(normal)
    }

    fn duration(
        &self,
        value: Option<Spanned<Dur>>,
        bounds: &Bounds,
    ) -> Result<Duration, ConfigError> {
        ranges::duration(self.file, self.text, value, bounds)
    }

    fn program(
        &self,
        command: &Spanned<String>,
        cwd: &Path,
        what: &str,
    ) -> Result<Option<PathBuf>, ConfigError> {
        if command.get_ref().trim().is_empty() {
            return Err(self.error(command.span(), format!("{what} is empty")));
        }
        if uses_exec_options(command.get_ref()) && !shell_has_exec_options() {
            let message = format!(
                "{what}: `exec` takes no options in this system's sh (dash has none; bash has -a, -c and -l), so the command would fail with \"exec: -a: not found\"; run it through bash: `bash -c 'exec -a NAME program ...'`"
            );
            return Err(self.error(command.span(), message));
        }
        match first_program(command.get_ref()) {
            None => Ok(None),
            Some(program) => resolve(program, &self.root, cwd)
                .map(Some)
                .map_err(|message| self.error(command.span(), format!("{what}: {message}"))),
        }
    }
}

pub(super) fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = with_suggestion(e.message());
        match e.span() {
            Some(span) => ConfigError::at(file, text, span, message),
            None => ConfigError::whole_file(file, message),
        }
    })?;
    let root = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let check = Checker { file, text, root };
    let path_spans: Vec<Range<usize>> =
        raw.watch.paths.get_ref().iter().map(|v| v.span()).collect();
    let watch = watch_config(&check, raw.watch)?;
    let build = build_config(&check, raw.build)?;
    let promote = raw
        .promote
        .map(|promote| promote_config(&check, promote, &build))
        .transpose()?;
    let processes = processes(&check, raw.process)?;
    let scrollback = raw.ui.scrollback.unwrap_or(10_000);
    if scrollback == 0 {
        let at = text.find("scrollback").unwrap_or(0);
        return Err(check.error(at..at, "ui.scrollback must be at least 1 line"));
    }
    let config = Config {
        file: file.to_path_buf(),
        root: check.root.clone(),
        watch,
        build,
        promote,
        processes,
        ui: UiConfig { scrollback },
        values: toml::from_str(text).unwrap_or_default(),
    };
    unwatched_paths(&check, &config, &path_spans)?;
    Ok(config)
}

/// A watch path the watcher would skip whole watches nothing: say so here.
fn unwatched_paths(
    check: &Checker,
    config: &Config,
    spans: &[Range<usize>],
) -> Result<(), ConfigError> {
    let filter = crate::watch::PathFilter::new(config);
    for (path, span) in config.watch.paths.iter().zip(spans) {
        if filter.skips_dir(path) {
            return Err(check.error(
                span.clone(),
                format!(
                    "watch path `{}` is excluded (node_modules, .git, build.output, promote.target, devloop's state or an `exclude` pattern), so nothing in it would be watched",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

fn watch_config(check: &Checker, raw: RawWatch) -> Result<WatchConfig, ConfigError> {
    if raw.paths.get_ref().is_empty() {
        return Err(check.error(
            raw.paths.span(),
            "watch.paths is empty: name at least one directory, like [\"libs\"]",
        ));
    }
    let mut paths = Vec::new();
    for value in raw.paths.get_ref() {
        let path = check.relative(value, "watch path")?;
        let full = check.root.join(&path);
        if full.exists() && !full.is_dir() {
            return Err(check.error(
                value.span(),
                format!(
                    "watch path `{}` is a file: name the directory that holds it (and narrow with `include`)",
                    path.display()
                ),
            ));
        }
        if !full.exists() {
            return Err(check.error(
                value.span(),
                format!(
                    "watch path `{}` does not exist in {}",
                    path.display(),
                    check.root.display()
                ),
            ));
        }
        paths.push(path);
    }
    let patterns = |values: &[Spanned<String>]| -> Result<Vec<Pattern>, ConfigError> {
        values
            .iter()
            .map(|value| {
                Pattern::parse(value.get_ref())
                    .map_err(|e| check.error(value.span(), e.to_string()))
            })
            .collect()
    };
    Ok(WatchConfig {
        paths,
        include: patterns(&raw.include)?,
        exclude: patterns(&raw.exclude)?,
        debounce: check.duration(raw.debounce, &ranges::DEBOUNCE)?,
    })
}

fn build_config(check: &Checker, raw: RawBuild) -> Result<BuildConfig, ConfigError> {
    let program = check.program(&raw.command, &check.root, "build.command")?;
    let output = raw
        .output
        .as_ref()
        .map(|o| check.relative(o, "build.output"))
        .transpose()?;
    let warm = super::warm::warm_config(check, &raw)?;
    Ok(BuildConfig {
        warm,
        command: raw.command.into_inner(),
        program,
        output,
        timeout: check.duration(raw.timeout, &ranges::BUILD_TIMEOUT)?,
        on_change: raw.on_change,
    })
}

fn promote_config(
    check: &Checker,
    raw: RawPromote,
    build: &BuildConfig,
) -> Result<PromoteConfig, ConfigError> {
    let target = check.relative(&raw.target, "promote.target")?;
    let Some(output) = &build.output else {
        return Err(check.error(raw.target.span(), "[promote] needs build.output: set it to the directory the build writes, like \"tmp/libs-out\""));
    };
    let overlap = if *output == target {
        Some("is the same directory as")
    } else if output.starts_with(&target) {
        Some("is inside")
    } else if target.starts_with(output) {
        Some("contains")
    } else {
        None
    };
    if let Some(relation) = overlap {
        return Err(check.error(
            raw.target.span(),
            format!(
                "build.output `{}` {relation} promote.target `{}`: a build that cleans its output would delete what the running servers import. Point build.output at a directory of its own, like \"tmp/libs-out\"",
                output.display(),
                target.display()
            ),
        ));
    }
    let mut require = Vec::new();
    for value in &raw.require {
        let path = Path::new(value.get_ref());
        if path.is_absolute()
            || path.components().any(|c| matches!(c, Component::ParentDir))
            || value.get_ref().is_empty()
        {
            return Err(check.error(
                value.span(),
                format!(
                    "promote.require `{}` must be a path inside build.output",
                    value.get_ref()
                ),
            ));
        }
        require.push(path.to_path_buf());
    }
    let auto_rollback = match raw.auto_rollback {
        Some(value) => Some(check.duration(Some(value), &ranges::AUTO_ROLLBACK)?),
        None => None,
    };
    Ok(PromoteConfig {
        target,
        keep: raw.keep.unwrap_or(3),
        require,
        auto_rollback,
    })
}

fn processes(
    check: &Checker,
    raw: std::collections::BTreeMap<Spanned<String>, RawProcess>,
) -> Result<Vec<ProcessConfig>, ConfigError> {
    let names: Vec<String> = raw.keys().map(|k| k.get_ref().clone()).collect();
    let mut entries: Vec<_> = raw.into_iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    let mut processes = Vec::new();
    let mut after_spans = Vec::new();
    for (name, raw) in entries {
        let valid = !name.get_ref().is_empty()
            && name
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid || ["build", "devloop"].contains(&name.get_ref().as_str()) {
            return Err(check.error(
                name.span(),
                format!("process name `{}` is not allowed: use letters, digits, - and _, and not `build` or `devloop`", name.get_ref()),
            ));
        }
        let (process, spans) = process_config(check, name.get_ref(), raw, &names)?;
        processes.push(process);
        after_spans.push(spans);
    }
    if let Some((index, dep)) = find_cycle(&processes) {
        let span = after_spans[index][dep].clone();
        return Err(check.error(
            span,
            format!(
                "process `{}` is part of a cycle of `after` dependencies",
                processes[index].name
            ),
        ));
    }
    Ok(processes)
}

fn process_config(
    check: &Checker,
    name: &str,
    raw: RawProcess,
    names: &[String],
) -> Result<(ProcessConfig, Vec<Range<usize>>), ConfigError> {
    let cwd = match &raw.cwd {
        None => PathBuf::new(),
        Some(value) if value.get_ref().trim() == "." => PathBuf::new(),
        Some(value) => {
            let cwd = check.relative(value, "cwd")?;
            if !check.root.join(&cwd).is_dir() {
                return Err(check.error(
                    value.span(),
                    format!("cwd `{}` is not a directory", cwd.display()),
                ));
            }
            cwd
        }
    };
    let what = format!("process.{name}.command");
    let program = check.program(&raw.command, &check.root.join(&cwd), &what)?;
    let mut after = Vec::new();
    let mut spans = Vec::new();
    for dep in &raw.after {
        let dep_name = dep.get_ref();
        if dep_name == "build" {
            after.push(Dependency::Build);
        } else if dep_name == name {
            return Err(check.error(
                dep.span(),
                format!("process `{name}` cannot wait for itself"),
            ));
        } else if names.contains(dep_name) {
            after.push(Dependency::Process(dep_name.clone()));
        } else {
            let known = std::iter::once("build").chain(names.iter().map(String::as_str));
            let hint = closest(dep_name, known)
                .map(|c| format!(": did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(check.error(
                dep.span(),
                format!("`after` names `{dep_name}`, which is neither `build` nor a process{hint}"),
            ));
        }
        spans.push(dep.span());
    }
    let health = raw.health.map(|h| health(check, h)).transpose()?;
    let proxy = proxy(check, raw.proxy, raw.port)?;
    let start_timeout = start_timeout(check, raw.start_timeout)?;
    let process = ProcessConfig {
        name: name.to_string(),
        command: raw.command.into_inner(),
        program,
        cwd,
        env: raw.env.into_iter().map(|(k, v)| (k, v.0)).collect(),
        after,
        restart: raw.restart,
        on_promote: raw.on_promote,
        port: raw.port,
        proxy,
        start_timeout,
        health,
        stop_signal: raw.stop_signal.unwrap_or(SignalName::TERM),
        stop_timeout: check.duration(raw.stop_timeout, &ranges::STOP_TIMEOUT)?,
    };
    Ok((process, spans))
}

/// `proxy = true` needs the port devloop is to hold.
fn proxy(
    check: &Checker,
    raw: Option<Spanned<bool>>,
    port: Option<u16>,
) -> Result<bool, ConfigError> {
    match raw {
        Some(proxy) if *proxy.get_ref() && port.is_none() => Err(check.error(
            proxy.span(),
            "proxy = true needs `port = P`: devloop listens on P and gives the process a private port in $PORT",
        )),
        Some(proxy) => Ok(*proxy.get_ref()),
        None => Ok(false),
    }
}

/// Default 60 s: a dev server's first compile can take tens of seconds.
fn start_timeout(check: &Checker, raw: Option<Spanned<Dur>>) -> Result<Duration, ConfigError> {
    match raw {
        None => Ok(Duration::from_secs(60)),
        Some(value) if value.get_ref().0.is_zero() => Err(check.error(
            value.span(),
            "start_timeout must be longer than 0: it is how long a start may take to be ready",
        )),
        Some(value) => Ok(value.into_inner().0),
    }
}

fn health(check: &Checker, raw: Spanned<RawHealth>) -> Result<Health, ConfigError> {
    let span = raw.span();
    let raw = raw.into_inner();
    let probe = match (raw.http, raw.tcp, raw.exec) {
        (Some(url), None, None) => {
            if !url.starts_with("http://") {
                return Err(check.error(
                    span,
                    format!("health.http `{url}` must be an http:// URL (https is not checked)"),
                ));
            }
            Probe::Http(url)
        }
        (None, Some(port), None) => Probe::Tcp(port),
        (None, None, Some(command)) => Probe::Exec(command),
        _ => {
            return Err(check.error(
                span,
                "health takes exactly one of http = URL, tcp = PORT or exec = \"CMD\"",
            ));
        }
    };
    let retries = raw.retries.unwrap_or(3);
    if retries == 0 {
        return Err(check.error(span, "health.retries must be at least 1"));
    }
    Ok(Health {
        probe,
        interval: check.duration(raw.interval, &ranges::HEALTH_INTERVAL)?,
        timeout: check.duration(raw.timeout, &ranges::HEALTH_TIMEOUT)?,
        retries,
    })
}

/// A process on a cycle and the index of its `after` entry that closes it.
fn find_cycle(processes: &[ProcessConfig]) -> Option<(usize, usize)> {
    let index_of = |name: &str| processes.iter().position(|p| p.name == name);
    // Depth-first search with colours: 0 new, 1 on the stack, 2 done.
    fn visit(
        at: usize,
        processes: &[ProcessConfig],
        colour: &mut [u8],
        index_of: &dyn Fn(&str) -> Option<usize>,
    ) -> Option<(usize, usize)> {
        colour[at] = 1;
        for (slot, dep) in processes[at].after.iter().enumerate() {
            let Dependency::Process(name) = dep else {
                continue;
            };
            let Some(next) = index_of(name) else { continue };
            if colour[next] == 1 {
                return Some((at, slot));
            }
            if colour[next] == 0
                && let Some(found) = visit(next, processes, colour, index_of)
            {
                return Some(found);
            }
        }
        colour[at] = 2;
        None
    }
    let mut colour = vec![0u8; processes.len()];
    (0..processes.len()).find_map(|start| {
        if colour[start] == 0 {
            visit(start, processes, &mut colour, &index_of)
        } else {
            None
        }
    })
}
