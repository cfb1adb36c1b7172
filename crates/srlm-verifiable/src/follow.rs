//! Strict and loose following, as IFEval scores it: strict checks the response as it is; loose
//! also tries it without its first line, its last line or both, each with and without `*`, and
//! counts the instruction followed if any variant follows it.

use serde::{Deserialize, Serialize};

use crate::{python, Instruction};

/// Whether one instruction was followed, read strictly and loosely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Following {
    /// The response as it is follows the instruction.
    pub strict: bool,
    /// Some loose variant of the response follows it (implied by `strict`).
    pub loose: bool,
}

/// The response variants IFEval's loose reading tries, in its order: the response, without `*`,
/// without the first line, the last line, both, and those three without `*`.
pub fn loose_variants(response: &str) -> [String; 8] {
    let lines: Vec<&str> = response.split('\n').collect();
    let n = lines.len();
    let join = |from: usize, to: usize| {
        if from >= to {
            String::new()
        } else {
            python::strip(&lines[from..to].join("\n")).to_string()
        }
    };
    let remove_first = join(1, n);
    let remove_last = join(0, n.saturating_sub(1));
    let remove_both = join(1, n.saturating_sub(1));
    let unstar = |s: &str| s.replace('*', "");
    [
        response.to_string(),
        unstar(response),
        remove_first.clone(),
        remove_last.clone(),
        remove_both.clone(),
        unstar(&remove_first),
        unstar(&remove_last),
        unstar(&remove_both),
    ]
}

/// How `response` follows one instruction, strictly and loosely.
pub fn follow(instruction: &Instruction, response: &str) -> Following {
    following(instruction, response, &loose_variants(response))
}

/// How `response` follows each of a prompt's instructions, in order.
pub fn follow_all(instructions: &[Instruction], response: &str) -> Vec<Following> {
    let variants = loose_variants(response);
    instructions
        .iter()
        .map(|instruction| following(instruction, response, &variants))
        .collect()
}

/// `variants` are [`loose_variants`] of `response`, whose first is the response itself: the
/// strict verdict, not checked twice.
fn following(instruction: &Instruction, response: &str, variants: &[String]) -> Following {
    let strict = instruction.check(response);
    let loose = strict || variants.iter().skip(1).any(|v| instruction.check(v));
    Following { strict, loose }
}
