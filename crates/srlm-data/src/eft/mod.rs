//! Building EFT (evaluation fine-tuning) sets, two ways:
//!
//! - [`ladder`]: without labels, from IFT pairs — answers of known relative quality built by
//!   construction, each with a target score and justification (our departure from the paper;
//!   see `docs/eft-ladder.md`);
//! - [`ranked`]: the paper's way, from human-ranked answers and a judge model, keeping a prompt's
//!   judgements only where they order the answers as the people did, then thinning the most
//!   common score ([`thin_scores`]).

pub mod ladder;
pub mod ranked;
mod thin;

pub use ladder::{
    build_ladder_sets, build_ladders, LadderConfig, LadderPool, LadderReport, LadderSets, Rung,
};
pub use ranked::{agrees_with_ranks, build_ranked_eft, RankedEftReport};
pub use thin::{score_histogram, thin_scores};
