//! The warm build `init` offers next to the cold one, where the workspace
//! allows it: nx libs all built by `@nx/js:tsc`, whose `--watch` keeps one
//! tsc per lib running (the nx preset knows its lines).

use super::detect::{Project, Workspace};

/// The cold nx command with `--watch`, when every built lib uses tsc.
pub fn command(ws: &Workspace, libs: &[&Project], cold: &str) -> Option<String> {
    let executors: Vec<&str> = libs
        .iter()
        .filter_map(|lib| lib.build.as_ref()?.executor.as_deref())
        .collect();
    let all_tsc = !executors.is_empty() && executors.iter().all(|e| e.ends_with(":tsc"));
    (ws.nx && all_tsc && cold.contains(" run-many ")).then(|| format!("{cold} --watch"))
}

/// The commented alternative in the starter watch.toml.
pub fn offer(command: &str) -> String {
    format!(
        "# A warm build instead: nx keeps one tsc per lib running in watch mode, each rebuild\n\
         # takes well under a second, and devloop promotes every cycle that ends well (the\n\
         # done/failed lines come from its preset: see `devloop check`). To use it:\n\
         # command = {}\n\
         # persistent = true\n\
         # timeout = \"1m\"\n",
        super::render::quote(command)
    )
}
