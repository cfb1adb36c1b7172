//! Text helpers of the natural-answer EFT builder: sentence ends, a prompt's key terms, the
//! similarity that finds a prompt's nearest neighbour, and justifications that speak about the
//! answer at hand.

use std::collections::BTreeSet;

/// Words too common to say what a prompt is about.
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "also",
    "among",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "could",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "every",
    "explain",
    "from",
    "further",
    "give",
    "have",
    "having",
    "help",
    "here",
    "into",
    "just",
    "know",
    "like",
    "list",
    "make",
    "more",
    "most",
    "much",
    "need",
    "only",
    "other",
    "over",
    "please",
    "provide",
    "same",
    "should",
    "show",
    "some",
    "such",
    "tell",
    "than",
    "that",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "through",
    "under",
    "until",
    "very",
    "want",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "will",
    "with",
    "would",
    "write",
    "your",
    "yours",
    "you",
    "using",
    "used",
    "following",
    "example",
    "examples",
    "describe",
    "create",
    "generate",
    "answer",
    "question",
    "many",
    "well",
    "good",
    "best",
    "able",
    "make",
    "made",
    "take",
    "including",
    "include",
];

/// The prompt's content words: lowercase alphanumeric words of four or more characters that
/// are not stop words, in order of first appearance, without repeats.
pub(crate) fn content_words(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// Up to three of the prompt's content words, joined for a justification ("X, Y and Z"); a
/// generic phrase when it has none.
pub(crate) fn topic(prompt: &str) -> String {
    let words = content_words(prompt);
    match words.as_slice() {
        [] => "the user's request".into(),
        [a] => a.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c, ..] => format!("{a}, {b} and {c}"),
    }
}

/// Jaccard similarity of two content-word sets (0 when both are empty).
pub(crate) fn similarity(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        0.0
    } else {
        a.intersection(b).count() as f64 / union as f64
    }
}

/// Byte offsets just past each sentence end of `text`: a `.`, `!` or `?` (closing quotes and
/// brackets kept) followed by white space, or a line break after text; the end of the text is
/// not included.
pub(crate) fn sentence_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let next = chars.get(k + 1).map(|&(_, n)| n);
        let closes = matches!(c, '.' | '!' | '?');
        let line_break = c == '\n' && k > 0 && chars[k - 1].1 != '\n';
        if line_break {
            ends.push(i);
        } else if closes && next.is_some_and(char::is_whitespace) {
            // Not a decimal point or an abbreviation like "e.g." followed by a lowercase word.
            let after = chars[k + 1..]
                .iter()
                .map(|&(_, n)| n)
                .find(|n| !n.is_whitespace());
            if after.is_some_and(|n| !n.is_lowercase()) {
                ends.push(i + c.len_utf8());
            }
        }
    }
    ends.dedup();
    ends
}

/// The answer cut at the sentence end closest to `fraction` of its words, keeping at least one
/// sentence and leaving out at least a quarter of the words; `None` when no end qualifies.
pub(crate) fn cut_at_sentence(answer: &str, fraction: f64) -> Option<(String, usize)> {
    let total = answer.split_whitespace().count();
    let target = fraction * total as f64;
    sentence_ends(answer)
        .into_iter()
        .map(|end| (end, answer[..end].split_whitespace().count()))
        .filter(|&(_, words)| words >= 5 && (words as f64) <= 0.75 * total as f64)
        .min_by(|a, b| {
            (a.1 as f64 - target)
                .abs()
                .total_cmp(&(b.1 as f64 - target).abs())
        })
        .map(|(end, _)| {
            let text = answer[..end].trim_end().to_string();
            let sentences = sentence_ends(&text).len() + 1;
            (text, sentences)
        })
}

/// How the answer is laid out, for a justification: "in N paragraphs", "as a list", ….
pub(crate) fn layout(answer: &str) -> String {
    let lines: Vec<&str> = answer.lines().filter(|l| !l.trim().is_empty()).collect();
    let listed = lines
        .iter()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("- ")
                || t.starts_with("* ")
                || t.split_once(['.', ')'])
                    .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .count();
    if answer.contains("```") {
        "with code".into()
    } else if listed >= 2 {
        format!("as a list of {listed} points")
    } else if lines.len() >= 2 {
        format!("in {} paragraphs", lines.len())
    } else {
        "in one paragraph".into()
    }
}

/// Word count of a text.
pub(crate) fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_ends_skip_decimals_and_lowercase_continuations() {
        let text = "Pi is 3.14 roughly. It is e.g. used often! Really?\nYes";
        let ends: Vec<&str> = sentence_ends(text).iter().map(|&e| &text[..e]).collect();
        assert_eq!(
            ends,
            [
                "Pi is 3.14 roughly.",
                "Pi is 3.14 roughly. It is e.g. used often!",
                "Pi is 3.14 roughly. It is e.g. used often! Really?",
            ]
        );
    }

    #[test]
    fn a_cut_keeps_whole_sentences_and_drops_at_least_a_quarter() {
        let answer = "One two three four five. Six seven eight nine ten. Eleven twelve thirteen \
                      fourteen fifteen. Sixteen seventeen eighteen nineteen twenty.";
        let (cut, sentences) = cut_at_sentence(answer, 0.5).unwrap();
        assert_eq!(cut, "One two three four five. Six seven eight nine ten.");
        assert_eq!(sentences, 2);
        assert!(cut_at_sentence("One long sentence without any end", 0.5).is_none());
    }

    #[test]
    fn topics_are_content_words_in_order() {
        assert_eq!(
            topic("Can you explain how photosynthesis works in desert plants?"),
            "photosynthesis, works and desert"
        );
        assert_eq!(topic("Hi?"), "the user's request");
    }
}
