//! The report: `report.json` (every number), `report.md` (the tables, linking the plots) and
//! the plots, in one folder.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::following_report::{following_section, self_reward_section};
use crate::head_to_head::Matchup;
use crate::instruction_following::{FollowingComparison, InstructionFollowing};
use crate::judge_comparison::JudgeComparison;
use crate::judge_quality::JudgeQuality;
use crate::options::PairMethod;
use crate::plot;
use crate::pointwise::AnswerScores;
use crate::run_stats::{DpoCurve, IterationStats};
use crate::win_rate::{pct, Share};

/// Everything the evaluation measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Judge quality of each model on the held-out EFT set.
    pub judge: Vec<JudgeQuality>,
    /// Paired differences in judge quality between models on the same held-out set (B − A).
    #[serde(default)]
    pub judge_comparisons: Vec<JudgeComparison>,
    /// Which model judged the head-to-heads.
    pub head_to_head_judge: Option<String>,
    /// How it judged them (`None` in reports older than the field: pairwise).
    #[serde(default)]
    pub head_to_head_method: Option<PairMethod>,
    /// Pointwise head-to-heads: the judge's score of every answer, per model and prompt set.
    #[serde(default)]
    pub answer_scores: Vec<AnswerScores>,
    /// Evaluation prompts answered.
    pub eval_prompts: usize,
    /// Head-to-head matchups.
    pub head_to_head: Vec<Matchup>,
    /// Held-out prompts answered against their seed reference answer.
    #[serde(default)]
    pub reference_prompts: usize,
    /// Each model against the reference answers (B is `reference`).
    #[serde(default)]
    pub reference: Vec<Matchup>,
    /// Per-iteration statistics from the run folder.
    pub iterations: Vec<IterationStats>,
    /// DPO curves from the run folder.
    pub dpo: Vec<DpoCurve>,
    /// Each model's instruction following on the instructed prompts (checked by programs).
    #[serde(default)]
    pub instruction_following: Vec<InstructionFollowing>,
    /// Paired differences in instruction following between models (B − A).
    #[serde(default)]
    pub following_comparisons: Vec<FollowingComparison>,
    /// Instruction kinds held out of training.
    #[serde(default)]
    pub held_out_kinds: Vec<String>,
}

/// A metric with `decimals` digits, or `n/a` with the reason it has nothing to count.
/// A rate over an iteration's judge samples, `n/a` when none was drawn.
fn judged_rate(it: &IterationStats, rate: f64) -> String {
    if it.judge_samples == 0 {
        "n/a (nothing judged)".into()
    } else {
        format!("{rate:.3}")
    }
}

fn metric(value: Option<f64>, decimals: usize, reason: &str) -> String {
    match value {
        Some(v) => format!("{v:.decimals$}"),
        None => format!("n/a ({reason})"),
    }
}

/// A metric with its bootstrap interval (`scale` maps the interval's shares to the metric's
/// unit, e.g. 100 for percentages), or `n/a` with the reason.
fn bracketed(
    value: Option<f64>,
    interval: Option<Share>,
    scale: f64,
    decimals: usize,
    reason: &str,
) -> String {
    match (value, interval) {
        (Some(v), Some(s)) if s.low.is_finite() && s.high.is_finite() => format!(
            "{v:.decimals$} [{:.decimals$}, {:.decimals$}]",
            scale * s.low,
            scale * s.high
        ),
        _ => metric(value, decimals, reason),
    }
}

/// The paired differences between judges, under the judge-quality table.
fn judge_comparison_table(md: &mut String, comparisons: &[JudgeComparison]) {
    if comparisons.is_empty() {
        return;
    }
    md.push_str("\nPaired differences, B − A on the same pairs (pairwise accuracy over all pairs, an unjudged pair wrong for either judge; paired bootstrap over prompts; an interval above 0 says B orders more pairs as the reference does):\n\n| B − A | set | pairwise acc., all pairs | pairs |\n|---|---|---|---|\n");
    for c in comparisons {
        let d = &c.pairwise_accuracy_all;
        let _ = writeln!(
            md,
            "| {} − {} | {} | {:+.3} [{:+.3}, {:+.3}] | {} |",
            c.b, c.a, c.set, d.value, d.low, d.high, c.pairs
        );
    }
}

/// The markdown report (plots referenced by relative path).
pub fn markdown(report: &EvalReport) -> String {
    let mut md = String::from("# Self-rewarding run report\n\n");
    md.push_str("Numbers for machines: [`report.json`](report.json).\n\n");
    if !report.judge.is_empty() {
        md.push_str("## Judge quality on held-out EFT\n\n");
        md.push_str("Each model judges the held-out responses with the paper's prompt; its scores are compared with the reference scores (Yuan et al., 2024, Table 4). One row per model and held-out set: `natural` (the reference answer, a sentence-end cut of it, the seed model's own answers, a neighbouring prompt's answer — the kind of answers the loop's candidates are) and `ladder` (damaged reference answers). Brackets: 95 % percentile-bootstrap intervals over prompts. *All pairs* counts a pair the judge left unscored as wrong; the pairwise accuracy beside it is over judged pairs only.\n\n");
        md.push_str("*Chance*: the pairwise accuracy the same judge gets with its scores shuffled among each prompt's responses (its own score distribution, ties counted wrong, without reading the answers): the floor an accuracy must clear.\n\n");
        md.push_str("| model | set | pairwise acc. (judged pairs) | chance | all pairs (unjudged) | 5-best % | exact match % | Spearman | Kendall τ (groups with a correlation) | parse rate | judgements cut | groups |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for r in &report.judge {
            let m = &r.metrics;
            let i = &r.intervals;
            let _ = writeln!(
                md,
                "| {} | {} | {} ({}) | {} | {} ({}) | {} | {} | {} | {} ({}) | {:.3} ({}/{}) | {:.3} | {} |",
                r.model,
                if r.set.is_empty() { "-" } else { r.set.as_str() },
                bracketed(m.pairwise_accuracy, i.pairwise_accuracy, 1.0, 3, "no judged pair"),
                m.pairs,
                metric(r.chance_pairwise_accuracy, 3, "no judged pair"),
                bracketed(m.pairwise_accuracy_all, i.pairwise_accuracy_all, 1.0, 3, "no pair"),
                m.unjudged_pairs,
                bracketed(m.five_best_pct, i.five_best, 100.0, 1, "no response scored 5"),
                bracketed(m.exact_match_pct, i.exact_match, 100.0, 1, "no fully judged group"),
                bracketed(m.spearman, i.spearman, 1.0, 3, "no group with two judged"),
                bracketed(m.kendall_tau, i.kendall_tau, 1.0, 3, "no group with two judged"),
                m.correlated_groups,
                r.parse_rate,
                r.parse.parsed,
                r.parse.samples,
                r.parse.truncation_rate(),
                m.groups
            );
        }
        judge_comparison_table(&mut md, &report.judge_comparisons);
        md.push_str("\n![judge quality](judge_quality.svg) ([PNG](judge_quality.png))\n\n");
    }
    following_section(
        &mut md,
        &report.instruction_following,
        &report.following_comparisons,
        &report.held_out_kinds,
    );
    if !report.head_to_head.is_empty() {
        md.push_str("## Head-to-head\n\n");
        let judge = report.head_to_head_judge.as_deref().unwrap_or("the judge");
        let _ = writeln!(
            md,
            "{} evaluation prompts; {} Shares with 95 % percentile-bootstrap intervals.\n",
            report.eval_prompts,
            how_judged(report, judge)
        );
        matchup_table(&mut md, &report.head_to_head);
        let unparsed: usize = report.head_to_head.iter().map(|m| m.overall.unparsed).sum();
        let judged: usize = report
            .head_to_head
            .iter()
            .map(|m| m.overall.n + m.overall.unparsed)
            .sum();
        if unparsed > 0 {
            let _ = writeln!(
                md,
                "\n**The judge gave no verdict** ({}) for {unparsed} of {judged} comparisons; those are left out of the shares above, not counted as ties.",
                if report.head_to_head_method == Some(PairMethod::Pointwise) {
                    "no parsed score for at least one of the two answers"
                } else {
                    "no `[[A]]`, `[[B]]` or `[[C]]` in at least one order"
                }
            );
        }
        scores_table(&mut md, &report.answer_scores, "eval");
        let categories: Vec<&String> = report
            .head_to_head
            .first()
            .map(|m| m.by_category.keys().collect())
            .unwrap_or_default();
        if categories.len() > 1 {
            md.push_str("\nBy category (wins / ties / losses):\n\n| A vs B |");
            for c in &categories {
                let _ = write!(md, " {c} |");
            }
            md.push_str("\n|---|");
            md.push_str(&"---|".repeat(categories.len()));
            md.push('\n');
            for m in &report.head_to_head {
                let _ = write!(md, "| {} vs {} |", m.a, m.b);
                for c in &categories {
                    match m.by_category.get(*c) {
                        Some(w) => {
                            let _ = write!(md, " {}/{}/{} |", w.wins, w.ties, w.losses);
                        }
                        None => md.push_str(" - |"),
                    }
                }
                md.push('\n');
            }
        }
        md.push_str("\n![win rates](win_rates.svg) ([PNG](win_rates.png))\n\n");
    }
    if !report.reference.is_empty() {
        md.push_str("## Against the reference answers\n\n");
        let _ = writeln!(
            md,
            "{} held-out prompts (never trained on), each model's greedy answer against the seed's reference answer (ShareGPT's ChatGPT answer): a yardstick that does not move between iterations. {}\n",
            report.reference_prompts,
            how_judged(report, report.head_to_head_judge.as_deref().unwrap_or("the judge"))
        );
        matchup_table(&mut md, &report.reference);
        scores_table(&mut md, &report.answer_scores, "held_out");
        md.push('\n');
    }
    if !report.iterations.is_empty() {
        md.push_str("## Iterations\n\nCut: share cut at the token limit (cut candidates never enter a pair).\n\n| iteration | prompts | mean candidate words | candidates cut | self-judge parse rate | judgements cut | mean self-score | score histogram | pairs | chosen words | rejected words |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for it in &report.iterations {
            let hist: Vec<String> = it
                .score_histogram
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(
                md,
                "| {} (M{}) | {} | {:.1} | {:.3} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
                it.iteration,
                it.iteration,
                it.prompts,
                it.mean_candidate_words,
                it.candidate_cut_rate,
                judged_rate(it, it.parse_rate),
                judged_rate(it, it.judge_cut_rate),
                metric(it.mean_self_score, 2, "nothing judged"),
                if hist.is_empty() {
                    "-".to_string()
                } else {
                    hist.join(", ")
                },
                it.pairs,
                it.mean_chosen_words,
                it.mean_rejected_words
            );
        }
        md.push_str("\n![lengths](lengths.svg) ([PNG](lengths.png))\n\n");
        self_reward_section(&mut md, &report.iterations);
    }
    for curve in &report.dpo {
        if curve.points.is_empty() {
            let _ = writeln!(
                md,
                "DPO of iteration {} was skipped (no preference pairs).\n",
                curve.iteration
            );
        } else {
            let _ = writeln!(
                md,
                "## DPO, iteration {t}\n\n![DPO iteration {t}](dpo_iter{t}.svg) ([PNG](dpo_iter{t}.png))\n",
                t = curve.iteration
            );
            held_out_table(&mut md, curve);
        }
    }
    md
}

/// How the head-to-head judge decided, in a sentence.
fn how_judged(report: &EvalReport, judge: &str) -> String {
    if report.head_to_head_method == Some(PairMethod::Pointwise) {
        format!("{judge} scores each answer alone with the paper's judge prompt (the format its EFT training taught; samples averaged), and the higher mean score wins; equal means are ties.")
    } else {
        format!("each pair of answers judged in both orders by {judge} with MT-Bench's pairwise prompt; a disagreement between the orders is a tie.")
    }
}

/// The mean score the judge gave each model's answers to the `which` prompts (pointwise).
fn scores_table(md: &mut String, scores: &[AnswerScores], which: &str) {
    let rows: Vec<&AnswerScores> = scores.iter().filter(|s| s.prompts == which).collect();
    if rows.is_empty() {
        return;
    }
    md.push_str("\nThe judge's mean score of each model's answers:\n\n| answers of | mean score | scored |\n|---|---|---|\n");
    for s in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {}/{} |",
            s.model,
            metric(s.mean(), 2, "none scored"),
            s.scored(),
            s.scores.len()
        );
    }
}

/// The win / tie / loss table of `matchups`, with the raw and length-controlled win rates.
fn matchup_table(md: &mut String, matchups: &[Matchup]) {
    md.push_str("Win rate: ties count as halves; length-controlled: the rate a logistic regression of the verdict on the answers' length difference predicts at equal lengths (after AlpacaEval 2; φ > 0: the judge favours the longer answer).\n\n");
    md.push_str("| A vs B | win | tie | loss | n | no verdict | win rate | length-controlled (φ) |\n|---|---|---|---|---|---|---|---|\n");
    for m in matchups {
        let o = &m.overall;
        let (rate, controlled) = match &m.length_controlled {
            Some(lc) => (
                pct(&lc.raw),
                format!("{} ({:+.2})", pct(&lc.controlled), lc.length_coefficient),
            ),
            None => (
                "n/a (no verdict)".to_string(),
                "n/a (no verdict)".to_string(),
            ),
        };
        let _ = writeln!(
            md,
            "| {} vs {} | {} | {} | {} | {} | {} | {} | {} |",
            m.a,
            m.b,
            pct(&o.win),
            pct(&o.tie),
            pct(&o.loss),
            o.n,
            o.unparsed,
            rate,
            controlled
        );
    }
}

/// The DPO stage's held-out pairs before and after its update (or why there are none).
fn held_out_table(md: &mut String, curve: &DpoCurve) {
    let Some(held) = &curve.held_out else {
        return;
    };
    let (Some(before), Some(after)) = (held.before, held.after) else {
        md.push_str("Held-out pairs: n/a (no pair held out: `dpo.held_out_pairs` is 0 or the iteration had under 4 pairs).\n\n");
        return;
    };
    let _ = writeln!(
        md,
        "On {} held-out pairs (never trained on; before = M{t}, the reference, so its loss is ln 2):\n\n| | loss | reward accuracy | reward margin |\n|---|---|---|---|\n| before (M{t}) | {:.4} | {:.3} | {:.4} |\n| after (M{}) | {:.4} | {:.3} | {:.4} |\n",
        held.pairs,
        before.loss,
        before.reward_accuracy,
        before.reward_margin,
        curve.iteration + 1,
        after.loss,
        after.reward_accuracy,
        after.reward_margin,
        t = curve.iteration
    );
}

/// Writes `report.json`, `report.md` and the plots into `dir` (each file atomically).
pub fn write_report(dir: &Path, report: &EvalReport) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| EvalError::Input(e.to_string()))?;
    srlm_model::write_atomic(&dir.join("report.json"), json.as_bytes())?;
    // Plots are drawn in a scratch folder and renamed into place, so none is ever half-drawn.
    // A fresh folder under a random name (nothing planted there can redirect a plot).
    let scratch_dir = tempfile::Builder::new()
        .prefix(".plots.")
        .tempdir_in(dir)
        .map_err(|e| EvalError::io(dir, e))?;
    let scratch = scratch_dir.path().to_path_buf();
    let mut drawn = Vec::new();
    if !report.judge.is_empty() {
        drawn.extend(plot::judge_plot(&scratch, &report.judge)?);
    }
    if !report.head_to_head.is_empty() {
        drawn.extend(plot::win_plot(&scratch, &report.head_to_head)?);
    }
    if !report.iterations.is_empty() {
        drawn.extend(plot::length_plot(&scratch, &report.iterations)?);
    }
    for curve in report.dpo.iter().filter(|c| !c.points.is_empty()) {
        drawn.extend(plot::dpo_plot(&scratch, curve)?);
    }
    for path in drawn {
        if let Some(name) = path.file_name() {
            let target = dir.join(name);
            srlm_model::rename_durable(&path, &target)?;
        }
    }
    scratch_dir
        .close()
        .map_err(|e| EvalError::io(&scratch, e))?;
    srlm_model::write_atomic(&dir.join("report.md"), markdown(report).as_bytes())?;
    Ok(())
}
