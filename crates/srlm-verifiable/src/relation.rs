//! `less than` / `at least`: how IFEval's counting instructions compare.

use std::fmt;

/// How a counted quantity is compared with the instruction's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// `less than`: the count is below the threshold.
    LessThan,
    /// `at least`: the count is the threshold or more.
    AtLeast,
}

impl Relation {
    /// Both relations, in IFEval's order.
    pub const ALL: [Relation; 2] = [Relation::LessThan, Relation::AtLeast];

    /// IFEval's spelling: `less than` or `at least`.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::LessThan => "less than",
            Relation::AtLeast => "at least",
        }
    }

    /// Reads IFEval's spelling.
    pub fn parse(text: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether `count` stands in this relation to `threshold`.
    pub fn holds(self, count: usize, threshold: usize) -> bool {
        match self {
            Relation::LessThan => count < threshold,
            Relation::AtLeast => count >= threshold,
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
