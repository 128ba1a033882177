//! The starter watch.toml as text: every section devloop needs, each choice
//! explained by a one-line comment above it.

use super::apps::LibsFrom;
use super::detect::Workspace;
use super::plan::{OUTPUT, Plan, TARGET};
use std::fmt::Write;

/// Source files: other files under the watched paths do not rebuild.
const INCLUDE: &str = "**/*.{ts,tsx,mts,cts,js,jsx,mjs,cjs,json}";
/// Tests do not change what the apps import.
const EXCLUDE: &str = "**/*.{spec,test}.{ts,tsx,js,jsx}";

pub fn render(ws: &Workspace, plan: &Plan) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(ws, plan, &mut out);
    out
}

fn write_all(ws: &Workspace, plan: &Plan, out: &mut String) -> std::fmt::Result {
    let kind = ws.description();
    writeln!(
        out,
        "# devloop configuration, written by `devloop init` for {kind} using {} ({}).",
        ws.pm.name(),
        ws.pm_source
    )?;
    writeln!(
        out,
        "# Check it with `devloop check`, then run `devloop`. Paths are relative to this file."
    )?;
    writeln!(out, "\n[watch]\n# {}", plan.watch_why)?;
    writeln!(out, "paths = {}", list(&plan.watch_paths))?;
    writeln!(
        out,
        "# Source files only: other files there do not rebuild."
    )?;
    writeln!(out, "include = [{}]", quote(INCLUDE))?;
    writeln!(out, "# Tests do not change what the apps import.")?;
    writeln!(out, "exclude = [{}]", quote(EXCLUDE))?;
    writeln!(
        out,
        "# Quiet time after the last save before a build starts."
    )?;
    writeln!(out, "debounce = \"500ms\"")?;

    writeln!(out, "\n[build]\n# {}", plan.build_why)?;
    writeln!(out, "command = {}", quote(&plan.build_command))?;
    writeln!(
        out,
        "# The build writes here, never into {TARGET}: a build that cleans its output cannot break the servers."
    )?;
    writeln!(out, "output = {}", quote(OUTPUT))?;
    writeln!(
        out,
        "# A change during a build lets it finish, then builds once more."
    )?;
    writeln!(out, "on_change = \"queue\"")?;
    if let Some(warm) = &plan.warm_command {
        write!(out, "{}", super::warm::offer(warm))?;
    }

    writeln!(
        out,
        "\n[promote]\n# What the apps import: swapped whole after each good build, never seen half-written."
    )?;
    writeln!(out, "target = {}", quote(TARGET))?;
    writeln!(
        out,
        "# Previous generations kept beside it for `devloop rollback`."
    )?;
    writeln!(out, "keep = 3")?;
    if plan.require.is_empty() {
        writeln!(
            out,
            "# Entry files that must be in the output before it is promoted (none could be guessed):"
        )?;
        writeln!(out, "# require = [\"shared/src/index.js\"]")?;
    } else {
        writeln!(
            out,
            "# An output missing one of these is not promoted (guessed from each lib's main option: check them)."
        )?;
        writeln!(out, "require = {}", list(&plan.require))?;
    }

    if plan.processes.is_empty() {
        writeln!(
            out,
            "\n# No dev servers found: add one [process.NAME] per server, like"
        )?;
        writeln!(out, "# [process.web]\n# command = \"{}\"", ws.pm.run("dev"))?;
        writeln!(out, "# cwd = \"apps/web\"\n# after = [\"build\"]")?;
    }
    for (index, process) in plan.processes.iter().enumerate() {
        // The keys are explained once, above the first process.
        let explain = |text: &str| {
            if index == 0 {
                format!("# {text}\n")
            } else {
                String::new()
            }
        };
        writeln!(out, "\n# {}: {}", process.name, process.why)?;
        if let Some(libs_from) = &process.libs_from {
            writeln!(
                out,
                "# {}",
                libs_comment(libs_from, process.as_it_was.is_some())
            )?;
        }
        writeln!(out, "[process.{}]", process.name)?;
        writeln!(out, "command = {}", literal_or_quoted(&process.command))?;
        if let Some(cwd) = &process.cwd {
            writeln!(out, "cwd = {}", quote(cwd))?;
        }
        if !process.env.is_empty() {
            let pairs: Vec<String> = process
                .env
                .iter()
                .map(|(k, v)| format!("{k} = {}", quote(v)))
                .collect();
            writeln!(out, "env = {{ {} }}", pairs.join(", "))?;
        }
        if process.after == ["build"] {
            let why_after = format!("Start once the first build is promoted, so {TARGET} exists.");
            write!(out, "{}", explain(&why_after))?;
        }
        writeln!(out, "after = {}", list(&process.after))?;
        write!(
            out,
            "{}",
            explain("A server that exits is started again, with backoff.")
        )?;
        writeln!(out, "restart = \"always\"")?;
        if let Some(why) = &process.restart {
            writeln!(out, "# Restarted on each promotion: {why}.")?;
            writeln!(out, "on_promote = \"restart\"")?;
        } else if process.libs_from.is_none() && !process.builds {
            let why_restart =
                format!("Uncomment if the server does not pick up a new {TARGET} by itself:");
            write!(out, "{}", explain(&why_restart))?;
            writeln!(out, "# on_promote = \"restart\"")?;
        }
        match process.port {
            Some(port) if process.proxy => {
                writeln!(
                    out,
                    "# devloop holds the port and forwards it to the instance on $PORT: a restart starts the new one first, and no connection is refused."
                )?;
                writeln!(out, "port = {port}\nproxy = true")?;
            }
            Some(port) if process.health.is_some() => {
                writeln!(
                    out,
                    "# Wait for the port to be free before each start, and for it to answer before \"ready\"."
                )?;
                writeln!(out, "port = {port}")?;
            }
            Some(port) => {
                // Not explained once: the first process may have no port.
                writeln!(
                    out,
                    "# Uncomment to wait for the port to be free, and for it to answer before \"ready\":"
                )?;
                writeln!(out, "# port = {port}")?;
                writeln!(out, "# health = {{ tcp = {port} }}")?;
            }
            None if process.libs_from.is_some() => {
                writeln!(
                    out,
                    "# Its port could not be read: set `port` (and `proxy = true` if it restarts on promotion)."
                )?;
            }
            None => {}
        }
        if let Some(health) = &process.health {
            writeln!(out, "health = {health}")?;
        }
        if let Some(as_it_was) = &process.as_it_was {
            writeln!(
                out,
                "# To supervise it as it was instead (on the libs' source: devloop's build then neither gates nor feeds it),\n# undo init's changes to it and use:\n# command = {}\n# on_promote = \"none\"",
                quote(as_it_was)
            )?;
        }
    }
    Ok(())
}

/// Where an app gets the libs, as a comment line.
fn libs_comment(libs_from: &LibsFrom, changed: bool) -> String {
    match libs_from {
        LibsFrom::Dist(how) => format!("It gets the libs from {TARGET}: {how}."),
        LibsFrom::Source(how) if changed => format!(
            "It got the libs from their source ({how}); init's changes make it take them from {TARGET}, so only a build that passed reaches it."
        ),
        LibsFrom::Source(how) => format!(
            "It gets the libs from their source ({how}): it compiles them itself, and devloop's build neither gates nor feeds it."
        ),
    }
}

/// A TOML array of strings.
fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| quote(item)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A TOML literal string ('...', no escapes) for text with quotes or
/// backslashes that it can hold, else a basic string.
fn literal_or_quoted(text: &str) -> String {
    let plain = !text.contains(['"', '\\']);
    let fits = !text.contains('\'') && !text.chars().any(char::is_control);
    match (plain, fits) {
        (false, true) => format!("'{text}'"),
        _ => quote(text),
    }
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn commands_with_quotes_are_literal_strings() {
        for text in [
            r#"A="{\"a\":\"$PWD\"}" exec node x.js"#,
            "plain",
            "it's \"x\"",
        ] {
            let doc = format!("v = {}", super::literal_or_quoted(text));
            let value: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(value["v"].as_str(), Some(text), "{doc}");
        }
        assert!(super::literal_or_quoted(r#"a "b""#).starts_with('\''));
    }

    #[test]
    fn strings_are_valid_toml() {
        for text in [
            "plain",
            "a \"quoted\" \\ path",
            "tab\tnew\nline\u{7}",
            "é ✓",
        ] {
            let doc = format!("v = {}", quote(text));
            let value: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(value["v"].as_str(), Some(text), "{doc}");
        }
    }
}
