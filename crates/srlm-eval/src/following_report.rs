//! The report's instruction-following section: IFEval's four numbers per model with their
//! floor, the paired differences between models, and the per-kind breakdown.

use std::fmt::Write as _;

use crate::instruction_following::{FollowingComparison, InstructionFollowing};
use crate::win_rate::{pct, Share};

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
