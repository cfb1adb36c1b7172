//! # srlm-eval
//!
//! Measures a self-rewarding run the way the paper's tables do, and draws it:
//!
//! - **Judge quality** of each model (M0 baseline, M1, M2, …) on the held-out EFT set: the model
//!   scores every held-out response with the judge prompt; pairwise accuracy, 5-best %, exact
//!   match %, Spearman, Kendall τ against the reference scores, and the parse rate
//!   ([`judge_quality`]); between two judges on the same pairs, the paired difference
//!   ([`compare_judges`]).
//! - **Head-to-head** between iterations on evaluation prompts (MT-Bench's first turns by
//!   default), decided by one fixed judge: each answer scored alone with the judge prompt, the
//!   higher score winning ([`compare_scored`], the default for a local judge), or each pair
//!   judged in both orders with MT-Bench's pairwise prompt, a disagreement a tie ([`compare`]);
//!   win / tie / loss with 95 % percentile-bootstrap intervals, per category
//!   ([`win_tie_loss`]), and the length-controlled win rate beside the raw one
//!   ([`length_controlled`]).
//! - **Against the reference**: each model's answer to held-out prompts against the seed's
//!   reference answer, by the same judge and method — a yardstick that does not move
//!   ([`reference_answers`]).
//! - **Per iteration** from the run folder: candidate lengths, self-judging parse rate and score
//!   histogram, pairs kept, chosen/rejected lengths; DPO curves ([`iteration_stats`],
//!   [`dpo_curves`]).
//!
//! [`write_report`] writes `report.json`, `report.md` and SVG + PNG plots.
//!
//! ```
//! use srlm_eval::win_tie_loss;
//! use srlm_judge::PairOutcome::{Loss, Tie, Win};
//!
//! let w = win_tie_loss(&[Win, Win, Tie, Loss], 0);
//! assert_eq!((w.wins, w.ties, w.losses), (2, 1, 1));
//! assert_eq!(w.win.value, 0.5);
//! assert!(w.win.low <= 0.5 && 0.5 <= w.win.high);
//! ```

mod contest;
mod error;
mod evaluate;
mod following_report;
mod head_to_head;
mod instruction_following;
mod judge_comparison;
mod judge_quality;
mod judges;
mod length_control;
mod options;
mod plot;
mod pointwise;
mod report;
mod run_stats;
mod win_rate;

pub use contest::reference_answers;
pub use error::{EvalError, Result};
pub use evaluate::{
    evaluate_models, evaluate_models_with, evaluate_run, evaluate_run_on, matchups,
    read_eval_prompts, spread_over_categories,
};
pub use head_to_head::{answer, compare, tally, Answers, Matchup};
pub use instruction_following::{
    compare_following, instruction_following, summarise as summarise_following,
    FollowingComparison, InstructedSet, InstructionFollowing, KindFollowing,
};
pub use judge_comparison::{compare_judges, JudgeComparison};
pub use judge_quality::{
    chance_pairwise_accuracy, held_out_groups, held_out_sets, judge_quality, metric_intervals,
    reference_ranks, set_kind, HeldOutGroup, JudgeQuality, MetricIntervals, CHANCE_PERMUTATIONS,
};
pub use judges::{journal_key, ConfiguredEvalJudges, EvalJudges, HeadToHeadJudge};
pub use length_control::{
    fit as fit_length_model, length_controlled, length_features, LengthControlled, RIDGE,
};
pub use options::{EvalOptions, PairJudge, PairMethod};
pub use plot::{dpo_plot, judge_plot, length_plot, win_plot, LENGTH_BUCKET};
pub use pointwise::{compare_scored, pointwise_outcome, score_answers, AnswerScores};
pub use report::{markdown, write_report, EvalReport};
pub use run_stats::{dpo_curves, iteration_stats, DpoCurve, DpoPoint, IterationStats};
pub use win_rate::{win_tie_loss, Share, WinTieLoss, BOOTSTRAP_RESAMPLES};
