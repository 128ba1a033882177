//! What an edit of watch.toml changed, section by section and process by
//! process, judged on the file's values (so comments and layout never count).

use super::Config;
use toml::Table;

/// The sections a reload applies or names, in the file's usual order.
pub const SECTIONS: [&str; 4] = ["watch", "build", "promote", "ui"];

/// The differences between two configurations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Top-level sections (`watch`, `build`, `promote`, `ui`) that differ.
    pub sections: Vec<String>,
    /// `[process.NAME]` only in the new file.
    pub added: Vec<String>,
    /// `[process.NAME]` only in the old file.
    pub removed: Vec<String>,
    /// `[process.NAME]` in both, with other values.
    pub changed: Vec<String>,
}

impl Changes {
    pub fn between(old: &Config, new: &Config) -> Changes {
        let empty = Table::new();
        let section = |config: &Config, name: &str| config.values.get(name).cloned();
        let sections = SECTIONS
            .iter()
            .filter(|name| section(old, name) != section(new, name))
            .map(|name| name.to_string())
            .collect();
        let processes = |config: &Config| match config.values.get("process") {
            Some(toml::Value::Table(table)) => table.clone(),
            _ => empty.clone(),
        };
        let (before, after) = (processes(old), processes(new));
        let names = |table: &Table, other: &Table| -> Vec<String> {
            let mut names: Vec<String> = table
                .keys()
                .filter(|name| !other.contains_key(*name))
                .cloned()
                .collect();
            names.sort();
            names
        };
        let mut changed: Vec<String> = before
            .iter()
            .filter(|(name, value)| after.get(*name).is_some_and(|new| new != *value))
            .map(|(name, _)| name.clone())
            .collect();
        changed.sort();
        Changes {
            sections,
            added: names(&after, &before),
            removed: names(&before, &after),
            changed,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
    }

    pub fn section(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, text: &str) -> Config {
        Config::parse(&dir.join("watch.toml"), text).unwrap()
    }

    const BASE: &str = r#"
[watch]
paths = ["libs"]
[build]
command = "true"
[process.api]
command = "node api.js"
[process.web]
command = "node web.js"
"#;

    #[test]
    fn names_sections_and_processes_by_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("libs")).unwrap();
        let old = config(dir.path(), BASE);
        let same = config(dir.path(), &format!("# a comment\n{BASE}\n\n"));
        assert!(Changes::between(&old, &same).is_empty());
        let text = BASE
            .replace("command = \"true\"", "command = \"echo b\"")
            .replace("node web.js", "node web2.js")
            .replace("[process.api]\ncommand = \"node api.js\"\n", "")
            + "[process.docs]\ncommand = \"node docs.js\"\n";
        let changes = Changes::between(&old, &config(dir.path(), &text));
        assert_eq!(
            changes,
            Changes {
                sections: vec!["build".into()],
                added: vec!["docs".into()],
                removed: vec!["api".into()],
                changed: vec!["web".into()],
            }
        );
    }
}
