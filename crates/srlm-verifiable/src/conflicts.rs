//! Which instruction kinds IFEval never gives one prompt together.

/// Pairs of kinds IFEval never gives one prompt together (its `INSTRUCTION_CONFLICTS`, made
/// symmetric, restricted to the kinds this crate checks).
const CONFLICTS: [(&str, &str); 73] = [
    (
        "change_case:english_capital",
        "change_case:english_lowercase",
    ),
    ("change_case:english_capital", "combination:repeat_prompt"),
    ("change_case:english_capital", "combination:two_responses"),
    (
        "change_case:english_capital",
        "detectable_format:constrained_response",
    ),
    (
        "change_case:english_capital",
        "detectable_format:json_format",
    ),
    ("change_case:english_lowercase", "combination:repeat_prompt"),
    ("change_case:english_lowercase", "combination:two_responses"),
    (
        "change_case:english_lowercase",
        "detectable_format:constrained_response",
    ),
    (
        "change_case:english_lowercase",
        "detectable_format:json_format",
    ),
    ("combination:repeat_prompt", "combination:two_responses"),
    (
        "combination:repeat_prompt",
        "detectable_content:number_placeholders",
    ),
    ("combination:repeat_prompt", "detectable_content:postscript"),
    (
        "combination:repeat_prompt",
        "detectable_format:constrained_response",
    ),
    ("combination:repeat_prompt", "detectable_format:json_format"),
    (
        "combination:repeat_prompt",
        "detectable_format:multiple_sections",
    ),
    (
        "combination:repeat_prompt",
        "detectable_format:number_bullet_lists",
    ),
    (
        "combination:repeat_prompt",
        "detectable_format:number_highlighted_sections",
    ),
    ("combination:repeat_prompt", "keywords:forbidden_words"),
    ("combination:repeat_prompt", "keywords:frequency"),
    ("combination:repeat_prompt", "keywords:letter_frequency"),
    (
        "combination:repeat_prompt",
        "length_constraints:nth_paragraph_first_word",
    ),
    (
        "combination:repeat_prompt",
        "length_constraints:number_paragraphs",
    ),
    (
        "combination:repeat_prompt",
        "length_constraints:number_words",
    ),
    ("combination:repeat_prompt", "startend:end_checker"),
    ("combination:repeat_prompt", "startend:quotation"),
    (
        "combination:two_responses",
        "detectable_content:number_placeholders",
    ),
    ("combination:two_responses", "detectable_content:postscript"),
    (
        "combination:two_responses",
        "detectable_format:constrained_response",
    ),
    ("combination:two_responses", "detectable_format:json_format"),
    (
        "combination:two_responses",
        "detectable_format:multiple_sections",
    ),
    (
        "combination:two_responses",
        "detectable_format:number_bullet_lists",
    ),
    (
        "combination:two_responses",
        "detectable_format:number_highlighted_sections",
    ),
    ("combination:two_responses", "keywords:frequency"),
    ("combination:two_responses", "keywords:letter_frequency"),
    (
        "combination:two_responses",
        "length_constraints:nth_paragraph_first_word",
    ),
    (
        "combination:two_responses",
        "length_constraints:number_paragraphs",
    ),
    (
        "combination:two_responses",
        "length_constraints:number_words",
    ),
    ("combination:two_responses", "startend:end_checker"),
    ("combination:two_responses", "startend:quotation"),
    (
        "detectable_content:number_placeholders",
        "detectable_format:constrained_response",
    ),
    (
        "detectable_content:number_placeholders",
        "detectable_format:json_format",
    ),
    (
        "detectable_content:postscript",
        "detectable_format:constrained_response",
    ),
    (
        "detectable_content:postscript",
        "detectable_format:json_format",
    ),
    (
        "detectable_format:constrained_response",
        "detectable_format:json_format",
    ),
    (
        "detectable_format:constrained_response",
        "detectable_format:multiple_sections",
    ),
    (
        "detectable_format:constrained_response",
        "detectable_format:number_bullet_lists",
    ),
    (
        "detectable_format:constrained_response",
        "detectable_format:number_highlighted_sections",
    ),
    (
        "detectable_format:constrained_response",
        "detectable_format:title",
    ),
    (
        "detectable_format:constrained_response",
        "keywords:existence",
    ),
    (
        "detectable_format:constrained_response",
        "keywords:forbidden_words",
    ),
    (
        "detectable_format:constrained_response",
        "keywords:frequency",
    ),
    (
        "detectable_format:constrained_response",
        "keywords:letter_frequency",
    ),
    (
        "detectable_format:constrained_response",
        "length_constraints:nth_paragraph_first_word",
    ),
    (
        "detectable_format:constrained_response",
        "length_constraints:number_paragraphs",
    ),
    (
        "detectable_format:constrained_response",
        "length_constraints:number_words",
    ),
    (
        "detectable_format:constrained_response",
        "punctuation:no_comma",
    ),
    (
        "detectable_format:constrained_response",
        "startend:end_checker",
    ),
    (
        "detectable_format:constrained_response",
        "startend:quotation",
    ),
    (
        "detectable_format:json_format",
        "detectable_format:multiple_sections",
    ),
    (
        "detectable_format:json_format",
        "detectable_format:number_bullet_lists",
    ),
    (
        "detectable_format:json_format",
        "detectable_format:number_highlighted_sections",
    ),
    ("detectable_format:json_format", "detectable_format:title"),
    ("detectable_format:json_format", "keywords:frequency"),
    ("detectable_format:json_format", "keywords:letter_frequency"),
    (
        "detectable_format:json_format",
        "length_constraints:nth_paragraph_first_word",
    ),
    (
        "detectable_format:json_format",
        "length_constraints:number_paragraphs",
    ),
    (
        "detectable_format:json_format",
        "length_constraints:number_words",
    ),
    ("detectable_format:json_format", "punctuation:no_comma"),
    ("detectable_format:json_format", "startend:end_checker"),
    ("detectable_format:json_format", "startend:quotation"),
    (
        "detectable_format:multiple_sections",
        "detectable_format:number_highlighted_sections",
    ),
    ("detectable_format:title", "startend:quotation"),
    (
        "length_constraints:nth_paragraph_first_word",
        "length_constraints:number_paragraphs",
    ),
];

/// Whether IFEval keeps kinds `a` and `b` apart (a kind conflicts with itself).
pub fn conflicts(a: &str, b: &str) -> bool {
    a == b
        || CONFLICTS
            .iter()
            .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
}
