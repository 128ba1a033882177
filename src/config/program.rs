//! Finding the program a shell command starts, so that a missing one is named
//! before anything runs.

use super::ValueError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Words the shell runs itself: nothing to find on PATH.
const SHELL_WORDS: &[&str] = &[
    ":", ".", "[", "cd", "echo", "eval", "exec", "exit", "export", "false", "printf", "read",
    "set", "source", "test", "trap", "true", "unset", "wait", "if", "for", "while", "until",
    "case", "{", "(", "!",
];

/// The program a command starts, when it can be told without running a shell:
/// leading `VAR=value` words and `exec` with its options (`-a NAME`, `-c`,
/// `-l`) are passed over; shell syntax gives None.
pub fn first_program(command: &str) -> Option<&str> {
    let mut words = command.split_whitespace();
    let mut word = words.next()?;
    while is_assignment(word) {
        word = words.next()?;
    }
    if word == "exec" {
        skip_exec_options(&mut words)?;
        word = words.next()?;
    }
    let is_plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./+@".contains(c));
    (is_plain && !SHELL_WORDS.contains(&word)).then_some(word)
}

fn is_assignment(word: &str) -> bool {
    word.contains('=') && !word.starts_with('=') && !word.contains('/')
}

/// Passes over exec's options (bash's and zsh's: `-a NAME`, `-c`, `-l`, in
/// any cluster, then `--`). None for an option exec does not have.
fn skip_exec_options<'a>(words: &mut (impl Iterator<Item = &'a str> + Clone)) -> Option<()> {
    loop {
        let mut ahead = words.clone();
        let Some(word) = ahead.next() else {
            return Some(());
        };
        if word == "--" {
            words.next();
            return Some(());
        }
        let Some(letters) = word.strip_prefix('-') else {
            return Some(());
        };
        if letters.is_empty() || !letters.chars().all(|c| "acl".contains(c)) {
            return None;
        }
        words.next();
        if letters.contains('a') {
            words.next()?; // the name
        }
    }
}

/// Whether a command gives `exec` options, which not every `sh` has
/// (dash, Debian's and Ubuntu's sh, has none).
pub fn uses_exec_options(command: &str) -> bool {
    let mut words = command.split_whitespace().skip_while(|w| is_assignment(w));
    words.next() == Some("exec") && words.next().is_some_and(|w| w.starts_with('-'))
}

/// Whether the `sh` that runs commands has exec's options (asked once).
pub fn shell_has_exec_options() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        std::process::Command::new("sh")
            .args(["-c", "exec -a devloop-check true"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// The PATH children get: the workspace's node_modules/.bin first.
pub fn search_path(root: &Path) -> OsString {
    let mut dirs = vec![root.join("node_modules").join(".bin")];
    let inherited =
        std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    dirs.extend(std::env::split_paths(&inherited));
    std::env::join_paths(dirs).unwrap_or(inherited)
}

/// Resolves a program as the shell would from `cwd`, with the workspace PATH.
pub fn resolve(program: &str, root: &Path, cwd: &Path) -> Result<PathBuf, ValueError> {
    if program.contains('/') {
        let path = cwd.join(program);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ValueError::ProgramMissing {
                program: program.to_string(),
                path,
            })
        };
    }
    which::which_in(program, Some(search_path(root)), cwd).map_err(|_| {
        ValueError::ProgramNotOnPath {
            program: program.to_string(),
            bin: root.join("node_modules/.bin"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_real_word() {
        assert_eq!(first_program("pnpm nx build"), Some("pnpm"));
        assert_eq!(
            first_program("NODE_ENV=dev FOO=1 node server.js"),
            Some("node")
        );
        assert_eq!(
            first_program("exec ./bin/serve --port 3"),
            Some("./bin/serve")
        );
        assert_eq!(first_program("exec -a web-1 sleep 300"), Some("sleep"));
        assert_eq!(first_program("exec -cl -- node x.js"), Some("node"));
        assert_eq!(first_program("A=1 exec -la name node"), Some("node"));
        assert_eq!(first_program("exec -a"), None);
        assert_eq!(first_program("exec -x node"), None);
        assert_eq!(first_program("echo hi && make"), None);
        assert_eq!(first_program("$BUILD"), None);
        assert_eq!(first_program("  "), None);
    }

    #[test]
    fn tells_exec_options_apart() {
        assert!(uses_exec_options("exec -a NAME sleep 1"));
        assert!(uses_exec_options("PORT=1 exec -c node"));
        assert!(!uses_exec_options("exec node -a"));
        assert!(!uses_exec_options("node exec -a"));
    }

    #[test]
    fn resolves_from_node_modules_first() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("node_modules/.bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tool = bin.join("my-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(resolve("my-tool", root.path(), root.path()), Ok(tool));
        assert!(resolve("sh", root.path(), root.path()).is_ok());
        let missing = resolve("no-such-program-xyz", root.path(), root.path()).unwrap_err();
        assert!(
            matches!(&missing, ValueError::ProgramNotOnPath { program, .. } if program == "no-such-program-xyz"),
            "{missing}"
        );
        assert!(
            missing
                .to_string()
                .contains("`no-such-program-xyz` not found")
        );
    }
}
