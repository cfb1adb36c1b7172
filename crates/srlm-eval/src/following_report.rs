//! The report's instruction-following sections: IFEval's four numbers per model with their
//! floor, the paired differences between models, and the per-kind breakdown; and, per
//! iteration, what the checks say of the self-judge's rewards.

use std::fmt::Write as _;

use srlm_loop::Rate;

use crate::instruction_following::{FollowingComparison, InstructionFollowing};
use crate::run_stats::IterationStats;
use crate::win_rate::{pct, Share};

/// `hits/of = rate [low, high]` in percent, or `n/a` for no trials.
fn rate(r: &Rate) -> String {
    match (r.rate, r.interval) {
        (Some(v), Some((low, high))) => format!(
            "{}/{} = {:.1} % [{:.1}, {:.1}]",
            r.hits,
            r.of,
            100.0 * v,
            100.0 * low,
            100.0 * high
        ),
        _ => "n/a (none)".into(),
    }
}

fn chance(r: &Rate) -> String {
    r.chance
        .map(|c| format!("{:.1} %", 100.0 * c))
        .unwrap_or_else(|| "-".into())
}

/// Appends the self-reward check per iteration (nothing when no iteration had instructed
/// prompts).
pub(crate) fn self_reward_section(md: &mut String, iterations: &[IterationStats]) {
    let checked: Vec<_> = iterations
        .iter()
        .filter_map(|it| it.self_reward.as_ref().map(|c| (it.iteration, c)))
        .collect();
    if checked.is_empty() {
        return;
    }
    md.push_str("## The self-reward, checked

On the iteration's prompts that carry verifiable instructions, the programs' verdicts against the self-judge's (which alone chose the pairs). *Candidates following all*: Mt's own answers. *Judge orders as the checks*: pairs of one prompt's finished candidates that the checks order and the judge does not tie. *Chosen follows more*: preference pairs whose answers follow different numbers of instructions. Brackets: 95 % Wilson intervals; chance: a judge that ignores the content.\n\n| iteration | instructed prompts | candidates following all | judge orders as the checks | judge ties | chance | pairs | chosen follows more | chance | chosen follows at least as many | chance |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (t, c) in checked {
        let _ = writeln!(
            md,
            "| {t} (M{t}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.prompts,
            rate(&c.following_all),
            rate(&c.candidate_pairs),
            c.candidate_pairs_judge_tied,
            chance(&c.candidate_pairs),
            c.pairs,
            rate(&c.chosen_follows_more),
            chance(&c.chosen_follows_more),
            rate(&c.chosen_follows_at_least),
            chance(&c.chosen_follows_at_least),
        );
    }
    md.push('\n');
}

fn signed_pct(s: &Share) -> String {
    if !s.value.is_finite() {
        return "n/a".into();
    }
    format!(
        "{:+.1} pts [{:+.1}, {:+.1}]",
        100.0 * s.value,
        100.0 * s.low,
        100.0 * s.high
    )
}

/// Appends the section to `md` (nothing when no model was checked).
pub(crate) fn following_section(
    md: &mut String,
    results: &[InstructionFollowing],
    comparisons: &[FollowingComparison],
    held_out_kinds: &[String],
) {
    let Some(first) = results.first() else {
        return;
    };
    md.push_str("## Instruction following, judged by no model\n\n");
    let _ = writeln!(
        md,
        "{} held-out prompts with {} verifiable instructions (IFEval's kinds, checked by programs that agree with Google's); each model's greedy answer. *Strict*: the answer as it is; *loose*: also without its first or last line or `*` (IFEval's reading). *Floor*: the same checks on the model's answer to the task without its instructions — how often an instruction passes when nothing asked for it. Brackets: 95 % percentile-bootstrap intervals over prompts.\n",
        first.prompts, first.instructions
    );
    md.push_str("| model | prompt-level strict | prompt-level loose | instruction-level strict | instruction-level loose | floor: prompt strict | floor: instruction strict | answers cut |\n|---|---|---|---|---|---|---|---|\n");
    for r in results {
        let (floor_prompt, floor_instruction) = match &r.floor {
            Some((p, i)) => (pct(p), pct(i)),
            None => ("n/a (no bare tasks)".into(), "n/a (no bare tasks)".into()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {}/{} |",
            r.model,
            pct(&r.prompt_strict),
            pct(&r.prompt_loose),
            pct(&r.instruction_strict),
            pct(&r.instruction_loose),
            floor_prompt,
            floor_instruction,
            r.answers_cut,
            r.prompts
        );
    }
    if !comparisons.is_empty() {
        md.push_str("\nPaired differences, B − A on the same prompts (paired bootstrap over prompts; an interval above 0 says B follows more):\n\n| B − A | prompt-level strict | prompt-level loose | instruction-level strict | instruction-level loose |\n|---|---|---|---|---|\n");
        for c in comparisons {
            let _ = writeln!(
                md,
                "| {} − {} | {} | {} | {} | {} |",
                c.b,
                c.a,
                signed_pct(&c.prompt_strict),
                signed_pct(&c.prompt_loose),
                signed_pct(&c.instruction_strict),
                signed_pct(&c.instruction_loose)
            );
        }
    }
    md.push_str("\nPer kind, instructions followed strict / loose / floor of all of that kind");
    if !held_out_kinds.is_empty() {
        md.push_str(" (kinds marked † were held out of training: following them says whether following generalises)");
    }
    md.push_str(":\n\n| kind |");
    for r in results {
        let _ = write!(md, " {} |", r.model);
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(results.len()));
    md.push('\n');
    for kind in first.by_kind.keys() {
        let mark = if held_out_kinds.iter().any(|k| k == kind) {
            " †"
        } else {
            ""
        };
        let _ = write!(md, "| `{kind}`{mark} |");
        for r in results {
            match r.by_kind.get(kind) {
                Some(k) => {
                    let floor = k
                        .floor_strict
                        .map_or_else(|| "-".to_string(), |f| f.to_string());
                    let _ = write!(
                        md,
                        " {}/{}/{} of {} |",
                        k.strict, k.loose, floor, k.instructions
                    );
                }
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
    md.push('\n');
}
