//! Building EFT (evaluation fine-tuning) sets, three ways:
//!
//! - [`natural`]: without labels, from natural answers of known relative quality — the seed's
//!   reference answer, a sentence-end cut of it, the seed model's own answers and a
//!   nearest-neighbour prompt's answer (the loop's default; see `docs/eft-natural.md`);
//! - [`ladder`]: without labels, from IFT pairs — answers of known relative quality built by
//!   construction, each with a target score and justification (our departure from the paper;
//!   see `docs/eft-ladder.md`);
//! - [`ranked`]: the paper's way, from human-ranked answers and a judge model, keeping a prompt's
//!   judgements only where they order the answers as the people did, then thinning the most
//!   common score ([`thin_scores`]);
//! - [`verifiable`]: without labels, from the model's own answers to prompts carrying verifiable
//!   instructions, ordered by programs that check them (see `docs/verifiable-instructions.md`).

pub mod ladder;
pub mod natural;
mod natural_text;
pub mod ranked;
mod thin;
pub mod verifiable;

pub use ladder::{
    build_ladder_sets, build_ladders, LadderConfig, LadderPool, LadderReport, LadderSets, Rung,
};
pub use natural::{build_natural, NaturalConfig, NaturalReport, NaturalRung, SeedAnswers};
pub use ranked::{agrees_with_ranks, build_ranked_eft, RankedEftReport};
pub use thin::{score_histogram, thin_scores};
pub use verifiable::{
    build_verifiable, verifiable_judgement, verifiable_score, VerifiableAnswers, VerifiableReport,
};
