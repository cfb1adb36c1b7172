//! Head-to-head judgement of two answers to one prompt: judged in both orders, a disagreement
//! between the orders counts as a tie (the paper's GPT-4 evaluation protocol).

use serde::{Deserialize, Serialize};

use crate::error::{JudgeError, Result};
use crate::judge::{SampleParams, TextGenerator};

/// The pairwise prompt (MT-Bench's pairwise judge, condensed); the verdict is `[[A]]`, `[[B]]`
/// or `[[C]]` for a tie.
pub const PAIRWISE_TEMPLATE: &str = "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. Choose the assistant that follows the user's instructions and answers the user's question better. Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. Do not allow the length of the responses to influence your evaluation. Be as objective as possible. After a short explanation, output your final verdict by strictly following this format: \"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.\n\n[User Question]\n{prompt}\n\n[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]";

/// One order's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The first-shown answer is better.
    First,
    /// The second-shown answer is better.
    Second,
    /// Neither.
    Tie,
}

/// The result for answer A against answer B, after both orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairOutcome {
    /// A won in both orders.
    Win,
    /// Both orders agree on a tie, or they disagree.
    Tie,
    /// B won in both orders.
    Loss,
    /// The judge gave no verdict (no `[[A]]`, `[[B]]` or `[[C]]`) in at least one order: a
    /// broken judge, counted apart from ties.
    Unparsed,
}

/// The last `[[A]]`, `[[B]]` or `[[C]]` in a judge text.
pub fn parse_verdict(text: &str) -> Option<Verdict> {
    let a = text.rfind("[[A]]");
    let b = text.rfind("[[B]]");
    let c = text.rfind("[[C]]");
    let last = [(a, Verdict::First), (b, Verdict::Second), (c, Verdict::Tie)]
        .into_iter()
        .filter_map(|(pos, v)| pos.map(|p| (p, v)))
        .max_by_key(|&(p, _)| p)?;
    Some(last.1)
}

/// Combines the verdict with A shown first and the verdict with B shown first. A missing
/// verdict in either order is [`PairOutcome::Unparsed`], never a tie.
pub fn combine(a_first: Option<Verdict>, b_first: Option<Verdict>) -> PairOutcome {
    let (Some(a_view), Some(b_first)) = (a_first, b_first) else {
        return PairOutcome::Unparsed;
    };
    // Swap the second order back to A's point of view.
    let b_view = match b_first {
        Verdict::First => Verdict::Second,
        Verdict::Second => Verdict::First,
        Verdict::Tie => Verdict::Tie,
    };
    match (a_view, b_view) {
        (Verdict::First, Verdict::First) => PairOutcome::Win,
        (Verdict::Second, Verdict::Second) => PairOutcome::Loss,
        _ => PairOutcome::Tie,
    }
}

/// One head-to-head item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairItem {
    /// The prompt.
    pub prompt: String,
    /// Answer A.
    pub a: String,
    /// Answer B.
    pub b: String,
}

fn render(prompt: &str, first: &str, second: &str) -> String {
    PAIRWISE_TEMPLATE
        .replace("{prompt}", prompt)
        .replace("{a}", first)
        .replace("{b}", second)
}

/// Judges each pair in both orders with `generator` (greedy by default, one sample per order).
pub fn judge_pairs<G: TextGenerator>(
    generator: &mut G,
    items: &[PairItem],
    params: &SampleParams,
) -> Result<Vec<PairOutcome>> {
    let prompts: Vec<String> = items
        .iter()
        .flat_map(|i| [render(&i.prompt, &i.a, &i.b), render(&i.prompt, &i.b, &i.a)])
        .collect();
    let completions = generator.complete(&prompts, 1, params)?;
    if completions.len() != prompts.len() {
        return Err(JudgeError::InvalidInput(format!(
            "the generator returned {} results for {} prompts",
            completions.len(),
            prompts.len()
        )));
    }
    let verdict = |i: usize| completions[i].first().and_then(|c| parse_verdict(&c.text));
    Ok((0..items.len())
        .map(|i| combine(verdict(2 * i), verdict(2 * i + 1)))
        .collect())
}
