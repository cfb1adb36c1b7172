//! Instruction following judged by no model: each model answers prompts carrying verifiable
//! instructions (IFEval's kinds, `srlm-verifiable`), programs check the answers, and IFEval's four
//! numbers — prompt- and instruction-level, strict and loose — come with bootstrap intervals over
//! prompts, a per-kind breakdown, a floor (the same checks on the model's answers to the bare
//! tasks: how often an instruction is "followed" when nothing asked for it), and paired
//! comparisons between models on the same prompts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use srlm_data::{read_jsonl, BadLines};
use srlm_judge::{complete_checked, GenerationConfig, TextGenerator};
use srlm_verifiable::{follow_all, Following, InstructedPrompt, Instruction};

use crate::error::{EvalError, Result};
use crate::win_rate::{bootstrap, Share};

/// A prompt set read and checked: each prompt with its instructions built.
#[derive(Debug, Clone)]
pub struct InstructedSet {
    /// The prompts as read.
    pub prompts: Vec<InstructedPrompt>,
    /// Each prompt's instructions.
    pub instructions: Vec<Vec<Instruction>>,
}

impl InstructedSet {
    /// Builds every prompt's instructions; an unknown kind or bad arguments are errors naming
    /// the prompt.
    pub fn new(prompts: Vec<InstructedPrompt>) -> Result<Self> {
        let instructions = prompts
            .iter()
            .map(|p| p.instructions())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| EvalError::Input(format!("instructed prompts: {e}")))?;
        Ok(InstructedSet {
            prompts,
            instructions,
        })
    }

    /// Reads IFEval-format JSON Lines (`key`, `prompt`, `instruction_id_list`, `kwargs`, and
    /// srlm's optional `task`); the first `max` prompts (all with `None`).
    pub fn read(path: &Path, max: Option<usize>) -> Result<Self> {
        let (mut prompts, _) = read_jsonl::<InstructedPrompt>(path, BadLines::Fail)?;
        if let Some(max) = max {
            prompts.truncate(max);
        }
        if prompts.is_empty() {
            return Err(EvalError::Input(format!(
                "{}: no instructed prompts",
                path.display()
            )));
        }
        InstructedSet::new(prompts).map_err(|e| match e {
            EvalError::Input(m) => EvalError::Input(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}

/// Instruction counts of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindFollowing {
    /// Instructions of this kind.
    pub instructions: usize,
    /// Followed, strict.
    pub strict: usize,
    /// Followed, loose.
    pub loose: usize,
    /// Followed (strict) by the answer to the bare task, where the set has tasks.
    pub floor_strict: Option<usize>,
}

/// One model's instruction following.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionFollowing {
    /// The model.
    pub model: String,
    /// Prompts answered.
    pub prompts: usize,
    /// Instructions over all prompts.
    pub instructions: usize,
    /// Share of prompts whose every instruction is followed, strict.
    pub prompt_strict: Share,
    /// Likewise, loose.
    pub prompt_loose: Share,
    /// Share of instructions followed, strict.
    pub instruction_strict: Share,
    /// Likewise, loose.
    pub instruction_loose: Share,
    /// The floor: the same checks on the answers to the bare tasks (prompt-level strict,
    /// instruction-level strict), where the set has tasks.
    pub floor: Option<(Share, Share)>,
    /// Per kind.
    pub by_kind: BTreeMap<String, KindFollowing>,
    /// Answers cut at the token limit (checked as they are).
    pub answers_cut: usize,
    /// Each prompt's verdicts, in order (what paired comparisons resample).
    pub followed: Vec<Vec<Following>>,
}

/// Answers every prompt greedily with `generator` (and every bare task, for the floor), checks
/// the answers, and bootstraps the four numbers (`seed`).
pub fn instruction_following(
    model: &str,
    generator: &mut dyn TextGenerator,
    set: &InstructedSet,
    params: &GenerationConfig,
    seed: u64,
) -> Result<InstructionFollowing> {
    let texts: Vec<String> = set.prompts.iter().map(|p| p.prompt.clone()).collect();
    let answers = complete_checked(generator, &texts, 1, params)?;
    let mut answers_cut = 0;
    let mut followed = Vec::with_capacity(texts.len());
    for (row, instructions) in answers.iter().zip(&set.instructions) {
        let completion = row.first();
        answers_cut += usize::from(completion.is_some_and(|c| c.truncated));
        let text = completion.map(|c| c.text.as_str()).unwrap_or_default();
        followed.push(follow_all(instructions, text));
    }
    let tasks: Option<Vec<String>> = set.prompts.iter().map(|p| p.task.clone()).collect();
    let floor_followed = match tasks {
        Some(tasks) => {
            let bare = complete_checked(generator, &tasks, 1, params)?;
            Some(
                bare.iter()
                    .zip(&set.instructions)
                    .map(|(row, instructions)| {
                        let text = row.first().map(|c| c.text.as_str()).unwrap_or_default();
                        follow_all(instructions, text)
                    })
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    Ok(summarise(
        model,
        &set.instructions,
        followed,
        floor_followed.as_deref(),
        answers_cut,
        seed,
    ))
}

/// The four numbers, per-kind counts and the floor from per-prompt verdicts.
pub fn summarise(
    model: &str,
    instructions: &[Vec<Instruction>],
    followed: Vec<Vec<Following>>,
    floor: Option<&[Vec<Following>]>,
    answers_cut: usize,
    seed: u64,
) -> InstructionFollowing {
    let mut by_kind: BTreeMap<String, KindFollowing> = BTreeMap::new();
    for (p, row) in followed.iter().enumerate() {
        for (i, f) in row.iter().enumerate() {
            let kind = by_kind
                .entry(instructions[p][i].id().to_string())
                .or_insert(KindFollowing {
                    instructions: 0,
                    strict: 0,
                    loose: 0,
                    floor_strict: floor.map(|_| 0),
                });
            kind.instructions += 1;
            kind.strict += usize::from(f.strict);
            kind.loose += usize::from(f.loose);
            if let (Some(count), Some(floor)) = (kind.floor_strict.as_mut(), floor) {
                *count += usize::from(floor[p][i].strict);
            }
        }
    }
    let rows: Vec<&Vec<Following>> = followed.iter().collect();
    let level = |rows: &[&Vec<Following>], level: Level, pass: Pass| {
        bootstrap(rows, seed, |draw| level(draw, pass))
    };
    InstructionFollowing {
        model: model.to_string(),
        prompts: followed.len(),
        instructions: followed.iter().map(Vec::len).sum(),
        prompt_strict: level(&rows, prompt_level, strict),
        prompt_loose: level(&rows, prompt_level, loose),
        instruction_strict: level(&rows, instruction_level, strict),
        instruction_loose: level(&rows, instruction_level, loose),
        floor: floor.map(|floor| {
            let rows: Vec<&Vec<Following>> = floor.iter().collect();
            (
                level(&rows, prompt_level, strict),
                level(&rows, instruction_level, strict),
            )
        }),
        by_kind,
        answers_cut,
        followed,
    }
}

/// Which reading of a verdict counts.
type Pass = fn(&Following) -> bool;
/// A prompt- or instruction-level share over some prompts' verdicts.
type Level = fn(&[&Vec<Following>], Pass) -> f64;

fn strict(f: &Following) -> bool {
    f.strict
}

fn loose(f: &Following) -> bool {
    f.loose
}

/// Share of prompts whose every instruction passes.
fn prompt_level(rows: &[&Vec<Following>], pass: Pass) -> f64 {
    if rows.is_empty() {
        return f64::NAN;
    }
    let all = rows.iter().filter(|r| r.iter().all(pass)).count();
    all as f64 / rows.len() as f64
}

/// Share of instructions (over all prompts) that pass.
fn instruction_level(rows: &[&Vec<Following>], pass: Pass) -> f64 {
    let total: usize = rows.iter().map(|r| r.len()).sum();
    if total == 0 {
        return f64::NAN;
    }
    let passed: usize = rows
        .iter()
        .map(|r| r.iter().filter(|f| pass(f)).count())
        .sum();
    passed as f64 / total as f64
}

/// B − A on the same prompts, each difference with its paired-bootstrap 95 % interval (the
/// prompts are resampled once for both models).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowingComparison {
    /// Model A (the earlier).
    pub a: String,
    /// Model B.
    pub b: String,
    /// Prompts both answered.
    pub prompts: usize,
    /// Prompt-level strict, B − A.
    pub prompt_strict: Share,
    /// Prompt-level loose, B − A.
    pub prompt_loose: Share,
    /// Instruction-level strict, B − A.
    pub instruction_strict: Share,
    /// Instruction-level loose, B − A.
    pub instruction_loose: Share,
}

/// B − A on IFEval's four numbers, paired over prompts. The two must have answered the same set.
pub fn compare_following(
    a: &InstructionFollowing,
    b: &InstructionFollowing,
    seed: u64,
) -> Result<FollowingComparison> {
    if a.followed.len() != b.followed.len()
        || a.followed
            .iter()
            .zip(&b.followed)
            .any(|(x, y)| x.len() != y.len())
    {
        return Err(EvalError::Input(format!(
            "{} and {} answered different instructed sets",
            a.model, b.model
        )));
    }
    type Pair<'a> = (&'a Vec<Following>, &'a Vec<Following>);
    let pairs: Vec<Pair> = a.followed.iter().zip(&b.followed).collect();
    let diff = |level: Level, pass: Pass| {
        bootstrap(&pairs, seed, |draw: &[Pair]| {
            let xs: Vec<&Vec<Following>> = draw.iter().map(|p| p.0).collect();
            let ys: Vec<&Vec<Following>> = draw.iter().map(|p| p.1).collect();
            level(&ys, pass) - level(&xs, pass)
        })
    };
    Ok(FollowingComparison {
        a: a.model.clone(),
        b: b.model.clone(),
        prompts: pairs.len(),
        prompt_strict: diff(prompt_level, strict),
        prompt_loose: diff(prompt_level, loose),
        instruction_strict: diff(instruction_level, strict),
        instruction_loose: diff(instruction_level, loose),
    })
}
