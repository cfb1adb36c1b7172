//! Value parsers and checks shared by the commands: a bad argument is refused by clap with its
//! name, before any model loads.

use std::path::Path;

use anyhow::{bail, Result};

/// A count of at least one (`--samples 0` or `--max-new-tokens 0` would do nothing, silently).
pub(crate) fn at_least_one(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Refuses two outputs that name one file: the second write would replace the first's records.
pub(crate) fn distinct_outputs(a: (&str, &Path), b: (&str, &Path)) -> Result<()> {
    let same = a.1 == b.1
        || matches!(
            (std::fs::canonicalize(a.1), std::fs::canonicalize(b.1)),
            (Ok(x), Ok(y)) if x == y
        );
    if same {
        bail!(
            "{} and {} name the same file ({}): the second would overwrite the first",
            a.0,
            b.0,
            a.1.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_refused_and_outputs_must_differ() {
        assert_eq!(at_least_one("3"), Ok(3));
        assert!(at_least_one("0").is_err());
        assert!(at_least_one("-1").is_err());
        let p = Path::new("x.jsonl");
        assert!(distinct_outputs(("--train", p), ("--held-out", p)).is_err());
        assert!(distinct_outputs(("--train", p), ("--held-out", Path::new("y.jsonl"))).is_ok());
    }
}
