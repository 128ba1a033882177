//! The warm build `init` offers next to the cold one, where the workspace
//! allows it: nx libs all built by `@nx/js:tsc`, whose `--watch` keeps one
//! tsc per lib running, or a build script that is a single call of a
//! compiler devloop has a preset for (tsc, tsup, esbuild, vite build), given
//! its watch flag.

use super::detect::{Project, Workspace};
use crate::warm::presets::preset_for;

/// The warm command for the cold one, when the workspace allows it.
pub fn command(
    ws: &Workspace,
    libs: &[&Project],
    cold: &str,
    watch_paths: &[String],
) -> Option<String> {
    let executors: Vec<&str> = libs
        .iter()
        .filter_map(|lib| lib.build.as_ref()?.executor.as_deref())
        .collect();
    let all_tsc = !executors.is_empty() && executors.iter().all(|e| e.ends_with(":tsc"));
    if ws.nx && all_tsc && cold.contains(" run-many ") {
        let imports = super::apps::lib_imports(ws);
        return Some(super::nx_warm::command(ws, libs, cold, &imports));
    }
    if let Some(script) = &ws.root_build
        && cold == ws.pm.run("build")
    {
        return watching(script, watch_paths);
    }
    // One lib built by its own script: the compiler runs in its folder.
    let scripted: Vec<&&Project> = libs
        .iter()
        .filter(|l| l.build_script.is_some() && !l.dir.as_os_str().is_empty())
        .collect();
    match scripted.as_slice() {
        [lib] if cold.starts_with("cd ") => {
            let warm = watching(lib.build_script.as_deref()?, &[])?;
            Some(format!("cd {} && {warm}", lib.dir.display()))
        }
        _ => None,
    }
}

/// A build script in watch mode, when it is one call of a known compiler.
/// tsup watches its working directory unless told: at the root that would
/// include the promote target, so it is given the watched paths.
fn watching(script: &str, watch_paths: &[String]) -> Option<String> {
    let script = script.trim();
    if script.contains(['&', '|', ';', '>', '<', '`', '$', '\n']) {
        return None;
    }
    let words: Vec<&str> = script.split_whitespace().collect();
    let words = match words.as_slice() {
        ["npx", rest @ ..] => rest,
        all => all,
    };
    let flag = match (words.first()?.rsplit('/').next()?, words.get(1)) {
        ("tsc", _) => "-w".to_string(),
        ("esbuild", _) | ("vite", Some(&"build")) => "--watch".to_string(),
        ("tsup", _) if watch_paths.is_empty() => "--watch".to_string(),
        ("tsup", _) => watch_paths
            .iter()
            .map(|path| format!("--watch {path}"))
            .collect::<Vec<_>>()
            .join(" "),
        _ => return None,
    };
    let warm = match preset_for(script) {
        Some(_) => script.to_string(),
        None => format!("{script} {flag}"),
    };
    preset_for(&warm).is_some().then_some(warm)
}

/// The commented alternative in the starter watch.toml.
pub fn offer(command: &str) -> String {
    let who = match preset_for(command).map(|p| p.name) {
        Some(name) if name.starts_with("nx ") => {
            "nx keeps one tsc per lib running in watch mode".to_string()
        }
        Some(name) => format!("{name} keeps running"),
        None => "the compiler keeps running".to_string(),
    };
    format!(
        "# A warm build instead: {who}, each rebuild\n\
         # takes well under a second, and devloop promotes every cycle that ends well (the\n\
         # done/failed lines come from its preset: see `devloop check`). To use it:\n\
         # command = {}\n\
         # persistent = true\n\
         # timeout = \"1m\"\n",
        super::render::quote(command)
    )
}

#[cfg(test)]
mod tests {
    use super::watching;

    #[test]
    fn one_call_of_a_known_compiler_gets_its_watch_flag() {
        let libs = ["libs".to_string()];
        let cases = [
            ("tsc -b", Some("tsc -b -w")),
            (
                "npx tsc -p tsconfig.build.json",
                Some("npx tsc -p tsconfig.build.json -w"),
            ),
            ("tsup", Some("tsup --watch libs")),
            (
                "esbuild src/index.ts --bundle --outfile=dist/index.js",
                Some("esbuild src/index.ts --bundle --outfile=dist/index.js --watch"),
            ),
            ("vite build", Some("vite build --watch")),
            ("tsc -b -w", Some("tsc -b -w")),
            ("vite", None),
            ("tsc && cp package.json dist", None),
            ("rollup -c", None),
        ];
        for (script, warm) in cases {
            assert_eq!(watching(script, &libs).as_deref(), warm, "{script}");
        }
        assert_eq!(watching("tsup", &[]).as_deref(), Some("tsup --watch"));
    }
}
