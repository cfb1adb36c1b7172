//! Head-to-head judgement of two answers to one prompt: judged in both orders, a disagreement
//! between the orders counts as a tie (the paper's GPT-4 evaluation protocol).

use serde::{Deserialize, Serialize};

use minijinja::context;

use crate::error::Result;
use crate::template::Template;
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};

/// The pairwise prompt (MT-Bench's pairwise judge, condensed), a minijinja template over
/// `{{ prompt }}`, `{{ a }}` and `{{ b }}`; the verdict is `[[A]]`, `[[B]]` or `[[C]]` for a tie.
pub const PAIRWISE_TEMPLATE: &str = include_str!("../templates/pairwise.jinja");

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

/// A compiled head-to-head prompt: the answers are inserted as values, never re-read as template
/// text, so an answer containing `{{ b }}` or `{b}` stays as written.
#[derive(Debug)]
pub struct PairwiseTemplate {
    inner: Template,
}

impl PairwiseTemplate {
    /// MT-Bench's pairwise prompt ([`PAIRWISE_TEMPLATE`]).
    #[allow(clippy::expect_used)]
    pub fn mt_bench() -> Self {
        // The embedded template is a constant, compiled by the tests: this cannot fail.
        Self::new(PAIRWISE_TEMPLATE).expect("the pairwise template compiles")
    }

    /// A user-supplied template over `{{ prompt }}`, `{{ a }}` (shown first) and `{{ b }}`.
    pub fn new(source: &str) -> Result<Self> {
        Ok(PairwiseTemplate {
            inner: Template::new("pairwise", source)?,
        })
    }

    /// The judge prompt with `first` shown as assistant A and `second` as assistant B.
    pub fn render(&self, prompt: &str, first: &str, second: &str) -> Result<String> {
        self.inner
            .render(context! { prompt => prompt, a => first, b => second })
    }
}

impl Default for PairwiseTemplate {
    fn default() -> Self {
        Self::mt_bench()
    }
}

/// Judges each pair in both orders with `generator` (greedy by default, one sample per order).
pub fn judge_pairs<G: TextGenerator>(
    generator: &mut G,
    items: &[PairItem],
    params: &GenerationConfig,
) -> Result<Vec<PairOutcome>> {
    let template = PairwiseTemplate::mt_bench();
    let mut prompts = Vec::with_capacity(2 * items.len());
    for i in items {
        prompts.push(template.render(&i.prompt, &i.a, &i.b)?);
        prompts.push(template.render(&i.prompt, &i.b, &i.a)?);
    }
    let completions = complete_checked(generator, &prompts, 1, params)?;
    let verdict = |i: usize| completions[i].first().and_then(|c| parse_verdict(&c.text));
    Ok((0..items.len())
        .map(|i| combine(verdict(2 * i), verdict(2 * i + 1)))
        .collect())
}
