//! What a run folder says about each iteration without running a model: response lengths and
//! cut rates, judge parse and cut rates, score histograms, pairs kept, and the DPO curves with
//! their held-out evaluations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use srlm_data::PreferenceRecord;
use srlm_loop::{
    check_self_reward, judged_judgements, mean_words, score_histogram, HeldOutDpo, SelfRewardCheck,
};
use srlm_loop::{CandidateSet, JudgedSet, NewPrompt, RunDir};

use crate::error::Result;

/// One iteration's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationStats {
    /// The iteration (its candidates came from model M{iteration}).
    pub iteration: usize,
    /// Prompts the model wrote and kept.
    pub prompts: usize,
    /// Words of every candidate response.
    pub candidate_words: Vec<usize>,
    /// Mean of `candidate_words`.
    pub mean_candidate_words: f64,
    /// Candidates cut at `candidates.max_tokens` / candidates (never trained on: left out of
    /// pairs).
    #[serde(default)]
    pub candidate_cut_rate: f64,
    /// Judge samples drawn (self-judging; 0 when nothing was judged, and then the two rates
    /// below mean nothing).
    #[serde(default)]
    pub judge_samples: usize,
    /// Judge samples that parsed / samples drawn (self-judging).
    pub parse_rate: f64,
    /// Judge texts cut at `judge.max_tokens` / samples drawn.
    #[serde(default)]
    pub judge_cut_rate: f64,
    /// Candidates by rounded mean score.
    pub score_histogram: BTreeMap<String, usize>,
    /// Mean score the iteration's model gave its own judged candidates (the self-reward
    /// trajectory; `None` when none was judged).
    #[serde(default)]
    pub mean_self_score: Option<f64>,
    /// Preference pairs kept.
    pub pairs: usize,
    /// Mean words of chosen responses.
    pub mean_chosen_words: f64,
    /// Mean words of rejected responses.
    pub mean_rejected_words: f64,
    /// What the checks say of the self-judge on the iteration's instructed prompts (`None`
    /// when none carried instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_reward: Option<SelfRewardCheck>,
}

/// One DPO step (TRL's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpoPoint {
    /// Optimizer step.
    pub step: usize,
    /// Loss.
    pub loss: f64,
    /// `rewards/accuracies`.
    pub accuracy: f64,
    /// `rewards/margins`.
    pub margin: f64,
}

/// The DPO curve of an iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpoCurve {
    /// The iteration (M{iteration} → M{iteration+1}).
    pub iteration: usize,
    /// Its steps.
    pub points: Vec<DpoPoint>,
    /// Its held-out pairs before and after the update (from the stage summary; `None` for runs
    /// older than the evaluation).
    #[serde(default)]
    pub held_out: Option<HeldOutDpo>,
}

/// Reads the finished iterations of a run.
pub fn iteration_stats(dir: &RunDir) -> Result<Vec<IterationStats>> {
    let mut out = Vec::new();
    for t in 1.. {
        let judgements = dir.iteration(t, "judgements.jsonl");
        let pairs_path = dir.iteration(t, "aift.jsonl");
        if !judgements.exists() || !pairs_path.exists() {
            break;
        }
        let candidates: Vec<CandidateSet> =
            dir.read_records(&dir.iteration(t, "candidates.jsonl"))?;
        let judged: Vec<JudgedSet> = dir.read_records(&judgements)?;
        let pairs: Vec<PreferenceRecord> = dir.read_records(&pairs_path)?;
        let prompts_path = dir.iteration(t, "prompts.jsonl");
        let prompts: Vec<NewPrompt> = if prompts_path.exists() {
            dir.read_records(&prompts_path)?
        } else {
            Vec::new()
        };
        let self_reward = check_self_reward(&prompts, &judged, &pairs)?;
        let candidate_words: Vec<usize> = candidates
            .iter()
            .flat_map(|c| {
                c.responses
                    .iter()
                    .map(|r| r.text.split_whitespace().count())
            })
            .collect();
        // Cut candidates a run left unjudged are not judge failures.
        let judgements = judged_judgements(&judged);
        let parse = srlm_judge::ParseStats::of(&judgements);
        let responses: Vec<_> = candidates.iter().flat_map(|c| &c.responses).collect();
        let cut = responses.iter().filter(|r| r.truncated).count();
        out.push(IterationStats {
            iteration: t,
            prompts: candidates.len(),
            mean_candidate_words: mean_words(
                candidates
                    .iter()
                    .flat_map(|c| c.responses.iter().map(|r| r.text.as_str())),
            ),
            candidate_words,
            candidate_cut_rate: if responses.is_empty() {
                0.0
            } else {
                cut as f64 / responses.len() as f64
            },
            judge_samples: parse.samples,
            parse_rate: parse.parse_rate(),
            judge_cut_rate: parse.truncation_rate(),
            score_histogram: score_histogram(&judgements),
            mean_self_score: {
                let scores: Vec<f64> = judgements.iter().filter_map(|j| j.score).collect();
                (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
            },
            pairs: pairs.len(),
            mean_chosen_words: mean_words(pairs.iter().map(|p| p.chosen.as_str())),
            mean_rejected_words: mean_words(pairs.iter().map(|p| p.rejected.as_str())),
            self_reward,
        });
    }
    Ok(out)
}

/// Reads the DPO curves (`iterT/dpo/metrics.jsonl`) of a run, with each DPO stage's held-out
/// evaluation from its summary.
pub fn dpo_curves(dir: &RunDir) -> Result<Vec<DpoCurve>> {
    let summaries = dir.summaries()?;
    let held_out = |t: usize| {
        summaries
            .iter()
            .find(|s| s.iteration == t && s.stage == "dpo")
            .and_then(|s| s.stats.get("held_out"))
            .and_then(|h| serde_json::from_value::<HeldOutDpo>(h.clone()).ok())
    };
    let mut out = Vec::new();
    for t in 1.. {
        let path = dir.iteration(t, "dpo/metrics.jsonl");
        if !path.exists() {
            // An iteration without pairs skips DPO and has no curve; later ones may have one.
            if dir.iteration(t, "aift.jsonl").exists() {
                out.push(DpoCurve {
                    iteration: t,
                    points: Vec::new(),
                    held_out: None,
                });
                continue;
            }
            break;
        }
        let steps: Vec<serde_json::Value> = dir.read_records(&path)?;
        let f = |v: &serde_json::Value, k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        out.push(DpoCurve {
            iteration: t,
            points: steps
                .iter()
                .map(|s| DpoPoint {
                    step: s
                        .get("step")
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0) as usize,
                    loss: f(s, "loss"),
                    accuracy: f(s, "rewards/accuracies"),
                    margin: f(s, "rewards/margins"),
                })
                .collect(),
            held_out: held_out(t),
        });
    }
    Ok(out)
}
