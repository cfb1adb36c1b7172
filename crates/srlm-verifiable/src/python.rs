//! Python's `str` semantics where IFEval's checkers depend on them: what counts as whitespace,
//! `strip`, `split()`, `isupper`/`islower`, `lower`, and `repr` of strings and lists (the
//! instruction texts print their arguments with Python's `repr`).

/// `str.isspace` for one character: Unicode `White_Space` plus the four information separators
/// U+001C–U+001F, which Python counts and Rust's `char::is_whitespace` does not.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `s.strip()`.
pub(crate) fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// `s.split()`: runs of whitespace separate, none empty.
pub(crate) fn split_whitespace(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_space).filter(|w| !w.is_empty())
}

/// Unicode's titlecase letters (general category Lt), which `isupper` and `islower` both refuse.
fn is_title(c: char) -> bool {
    matches!(c,
        '\u{1c5}' | '\u{1c8}' | '\u{1cb}' | '\u{1f2}'
        | '\u{1f88}'..='\u{1f8f}' | '\u{1f98}'..='\u{1f9f}' | '\u{1fa8}'..='\u{1faf}'
        | '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}')
}

/// `s.isupper()`: at least one uppercase character and none lowercase or titlecase.
pub(crate) fn is_upper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_title(c) {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// `s.islower()`: at least one lowercase character and none uppercase or titlecase.
pub(crate) fn is_lower(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_uppercase() || is_title(c) {
            return false;
        }
        cased |= c.is_lowercase();
    }
    cased
}

/// `repr(s)` for a string: single quotes unless the string holds a single quote and no double
/// quote; backslash escapes for the quote, the backslash, `\n`, `\r`, `\t` and other
/// non-printable characters.
pub(crate) fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr(list_of_strings)` (or of a tuple, with `open`/`close` set to parentheses).
pub(crate) fn repr_seq(items: &[String], open: char, close: char) -> String {
    let inner: Vec<String> = items.iter().map(|s| repr(s)).collect();
    format!("{open}{}{close}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_predicates_follow_python() {
        // Values from CPython 3.11: 'ABC 1'.isupper() True, '123'.isupper() False,
        // 'ǅ'.isupper() False (titlecase), 'abc ß'.islower() True, 'Abc'.islower() False.
        assert!(is_upper("ABC 1"));
        assert!(!is_upper("123"));
        assert!(!is_upper("\u{1c5}"));
        assert!(is_lower("abc \u{df}"));
        assert!(!is_lower("Abc"));
        assert!(!is_lower(""));
    }

    #[test]
    fn strip_and_repr_follow_python() {
        // '\x1c a \x1f'.strip() == 'a'; repr("it's") == "\"it's\""; repr('a\nb') == "'a\\nb'".
        assert_eq!(strip("\u{1c} a \u{1f}"), "a");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("a\nb"), "'a\\nb'");
        assert_eq!(
            repr_seq(&["a".into(), "b c".into()], '[', ']'),
            "['a', 'b c']"
        );
    }
}
