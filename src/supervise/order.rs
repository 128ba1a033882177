//! The dependency order of processes: levels where each process comes after
//! every process it names in `after`. Starting follows readiness at run time;
//! stopping walks these levels backwards. The configuration has already
//! refused cycles and unknown names.

use crate::config::{Config, Dependency};

pub fn index_of(config: &Config, name: &str) -> Option<usize> {
    config.processes.iter().position(|p| p.name == name)
}

/// Process indexes grouped by level: level 0 waits for no process, level n
/// for some process of level n - 1 (and none higher).
pub fn stop_levels(config: &Config) -> Vec<Vec<usize>> {
    let count = config.processes.len();
    let mut level: Vec<Option<usize>> = vec![None; count];
    // At most `count` passes settle every level of an acyclic graph; a cycle
    // (refused earlier) would just leave its members at the last level.
    for _ in 0..=count {
        let mut changed = false;
        for index in 0..count {
            let deps: Vec<Option<usize>> = config.processes[index]
                .after
                .iter()
                .filter_map(|dep| match dep {
                    Dependency::Process(name) => index_of(config, name),
                    Dependency::Build => None,
                })
                .map(|dep| level[dep])
                .collect();
            if deps.iter().all(Option::is_some) {
                let mine = deps.iter().flatten().map(|l| l + 1).max().unwrap_or(0);
                if level[index] != Some(mine) {
                    level[index] = Some(mine);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let depth = level.iter().flatten().max().map_or(0, |l| l + 1);
    let mut levels = vec![Vec::new(); depth + 1];
    for (index, l) in level.iter().enumerate() {
        levels[l.unwrap_or(depth)].push(index);
    }
    levels.retain(|l| !l.is_empty());
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(processes: &str) -> Config {
        let text = format!("[watch]\npaths = [\"libs\"]\n[build]\ncommand = \"true\"\n{processes}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("libs")).unwrap();
        Config::parse(&dir.path().join("watch.toml"), &text).unwrap()
    }

    #[test]
    fn dependents_come_after_what_they_wait_for() {
        let config = config(
            "[process.web]\ncommand = \"true\"\nafter = [\"api\", \"build\"]\n\
             [process.api]\ncommand = \"true\"\nafter = [\"db\"]\n\
             [process.db]\ncommand = \"true\"\n\
             [process.docs]\ncommand = \"true\"\nafter = [\"build\"]\n",
        );
        let names = |levels: Vec<Vec<usize>>| -> Vec<Vec<String>> {
            levels
                .into_iter()
                .map(|l| {
                    l.into_iter()
                        .map(|i| config.processes[i].name.clone())
                        .collect()
                })
                .collect()
        };
        assert_eq!(
            names(stop_levels(&config)),
            [vec!["db", "docs"], vec!["api"], vec!["web"]]
        );
    }

    #[test]
    fn no_processes_no_levels() {
        assert!(stop_levels(&config("")).is_empty());
    }
}
