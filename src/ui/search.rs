//! Case-insensitive matching that answers in the original text's byte
//! ranges. Lower-casing can change a character's length (`İ` becomes two
//! characters), so offsets found in the lowered text are mapped back to
//! whole characters of the original, never sliced inside one.

use std::ops::Range;

/// The line lower-cased, with the original byte offset of the character each
/// lowered byte came from.
struct Folded {
    text: String,
    origin: Vec<usize>,
}

fn fold(text: &str) -> Folded {
    let mut folded = Folded {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len()),
    };
    for (at, c) in text.char_indices() {
        for lower in c.to_lowercase() {
            folded.text.push(lower);
            folded.origin.resize(folded.text.len(), at);
        }
    }
    folded
}

/// Whether `text` contains `query` ignoring case.
pub fn contains(text: &str, query: &str) -> bool {
    !query.is_empty() && fold(text).text.contains(&fold(query).text)
}

/// The ranges of `text` that match `query` ignoring case, in order and not
/// overlapping, each covering whole characters.
pub fn matches(text: &str, query: &str) -> Vec<Range<usize>> {
    // Char by char, as the line is (str::to_lowercase treats a final Σ apart).
    let query = fold(query).text;
    if query.is_empty() {
        return Vec::new();
    }
    let folded = fold(text);
    let end_of = |folded_end: usize| {
        // The end of the original character holding the match's last byte.
        let start = folded.origin[folded_end - 1];
        start + text[start..].chars().next().map_or(0, char::len_utf8)
    };
    let mut out: Vec<Range<usize>> = Vec::new();
    for (start, found) in folded.text.match_indices(&query) {
        let range = folded.origin[start]..end_of(start + found.len());
        match out.last_mut() {
            // Two matches inside one expanded character become one range.
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => out.push(range),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn expanding_characters_are_matched_whole() {
        // "ẞİ" lowers to "ßi̇": the `i` is inside the İ's expansion.
        assert_eq!(matches("ẞİ", "i"), vec![3..5]);
        assert_eq!(matches("aẞİb", "ßi"), vec![1..6]);
        assert_eq!(matches("Error ERROR", "error"), vec![0..5, 6..11]);
        assert!(contains("ẞİ", "İ"));
        assert!(!contains("abc", ""));
    }

    proptest! {
        #[test]
        fn any_line_and_query(text in "\\PC{0,40}", query in "\\PC{0,4}") {
            let found = matches(&text, &query);
            let mut last_end = 0;
            for range in &found {
                prop_assert!(text.is_char_boundary(range.start));
                prop_assert!(text.is_char_boundary(range.end));
                prop_assert!(range.start >= last_end && range.start < range.end);
                prop_assert!(fold(&text[range.clone()]).text.contains(&fold(&query).text));
                last_end = range.end;
            }
            prop_assert_eq!(!found.is_empty(), contains(&text, &query));
        }

        #[test]
        fn a_query_taken_from_the_line_is_found(text in "\\PC{1,40}", from in 0usize..40, len in 1usize..6) {
            let chars: Vec<char> = text.chars().collect();
            let from = from % chars.len();
            let query: String = chars[from..(from + len).min(chars.len())].iter().collect();
            prop_assert!(contains(&text, &query));
            prop_assert!(!matches(&text, &query).is_empty());
        }
    }
}
