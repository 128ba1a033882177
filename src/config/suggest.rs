//! "Did you mean" for misspelt keys and values.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(word.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars; keys are short, so the O(n*m) table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Adds a suggestion to serde's "unknown field `x`, expected one of `a`, `b`"
/// and "unknown variant" messages, which name the offender first.
pub fn with_suggestion(message: &str) -> String {
    let kind = if message.starts_with("unknown field") {
        "key"
    } else if message.starts_with("unknown variant") {
        "value"
    } else {
        return message.to_string();
    };
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let Some((word, candidates)) = quoted.split_first() else {
        return message.to_string();
    };
    let expected = candidates.join("`, `");
    let mut text = format!("unknown {kind} `{word}`");
    if let Some(best) = closest(word, candidates.iter().copied()) {
        text.push_str(&format!(": did you mean `{best}`?"));
    }
    if !candidates.is_empty() {
        text.push_str(&format!(" (expected one of `{expected}`)"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_close_key() {
        let message =
            "unknown field `debounse`, expected one of `paths`, `include`, `exclude`, `debounce`";
        let text = with_suggestion(message);
        assert!(
            text.starts_with("unknown key `debounse`: did you mean `debounce`?"),
            "{text}"
        );
    }

    #[test]
    fn no_suggestion_for_a_stranger() {
        let text = with_suggestion("unknown field `colour`, expected one of `paths`, `debounce`");
        assert!(!text.contains("did you mean"), "{text}");
        assert!(
            text.contains("expected one of `paths`, `debounce`"),
            "{text}"
        );
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("debounse", "debounce"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            closest("on-falure", ["always", "on-failure", "never"]),
            Some("on-failure")
        );
    }
}
