//! The data stage: read the seed instructions, build (or read) EFT, hold prompts out, and draw
//! the SFT set.

use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use srlm_data::eft::build_ladder_sets;
use srlm_data::import::{import_sharegpt, ShareGptOptions};
use srlm_data::split::{dedup_by_prompt, is_held_out, split_by_prompt};
use srlm_data::{read_jsonl, BadLines, EftRecord, IftRecord};

use crate::config::DataSection;
use crate::error::{LoopError, Result};

/// What the data stage produces.
#[derive(Debug, Clone, Default)]
pub struct PreparedData {
    /// IFT examples for SFT.
    pub sft_ift: Vec<IftRecord>,
    /// EFT examples for SFT.
    pub sft_eft: Vec<EftRecord>,
    /// Held-out EFT records (the judge's evaluation set).
    pub eft_held_out: Vec<EftRecord>,
    /// Every training-side seed prompt (few-shot examples and the ROUGE-L pool).
    pub seed_prompts: Vec<String>,
    /// Counts.
    pub stats: serde_json::Value,
}

/// Reads seed IFT records: a ShareGPT JSON file (`.json`, `.json.gz`) or IFT JSON Lines.
pub fn read_seed(path: &Path) -> Result<(Vec<IftRecord>, serde_json::Value)> {
    let name = path.to_string_lossy();
    if name.ends_with(".json") || name.ends_with(".json.gz") {
        let (records, report) = import_sharegpt(path, ShareGptOptions::default(), BadLines::Fail)?;
        let report = serde_json::to_value(&report).unwrap_or_default();
        Ok((records, json!({"format": "sharegpt", "import": report})))
    } else {
        let (records, _) = read_jsonl::<IftRecord>(path, BadLines::Fail)?;
        Ok((records, json!({"format": "ift-jsonl"})))
    }
}

fn draw<T>(mut records: Vec<T>, n: usize, seed: u64) -> Vec<T> {
    records.shuffle(&mut StdRng::seed_from_u64(seed));
    records.truncate(n);
    records
}

/// Runs the stage.
pub fn prepare(config: &DataSection, seed: u64) -> Result<PreparedData> {
    let (seed_records, read) = read_seed(&config.seed)?;
    let offered = seed_records.len();
    let (ift_train, eft_train, eft_held_out, eft_stats) = match &config.eft {
        Some(eft_path) => {
            let (records, duplicates) = dedup_by_prompt(seed_records, |r| r.prompt.as_str());
            let split = split_by_prompt(
                records,
                |r| r.prompt.as_str(),
                config.held_out_fraction,
                seed,
            )?;
            let (eft, _) = read_jsonl::<EftRecord>(eft_path, BadLines::Fail)?;
            let (train, held): (Vec<_>, Vec<_>) = eft
                .into_iter()
                .partition(|e| !is_held_out(&e.prompt, config.held_out_fraction, seed));
            let stats = json!({"source": eft_path, "duplicates": duplicates});
            (split.train, train, held, stats)
        }
        None => {
            let mut ladder = config.ladder.clone();
            ladder.seed = seed;
            let sets = build_ladder_sets(seed_records, config.held_out_fraction, &ladder)?;
            let stats = json!({
                "source": "ladder",
                "duplicates": sets.duplicates,
                "train": sets.train_report,
                "held_out": sets.held_out_report,
            });
            (sets.ift_train, sets.train, sets.held_out, stats)
        }
    };
    if ift_train.is_empty() {
        return Err(LoopError::Empty {
            stage: "data".into(),
            reason: format!(
                "{}: no seed instruction left for training",
                config.seed.display()
            ),
        });
    }
    let seed_prompts: Vec<String> = ift_train.iter().map(|r| r.prompt.clone()).collect();
    let sft_ift = draw(
        ift_train,
        config.ift_examples,
        super::unit_seed(seed, 0, 0, 0),
    );
    let eft_available = eft_train.len();
    let sft_eft = draw(
        eft_train,
        config.eft_examples,
        super::unit_seed(seed, 0, 0, 1),
    );
    let stats = json!({
        "seed": read,
        "seed_pairs": offered,
        "seed_prompts": seed_prompts.len(),
        "eft": eft_stats,
        "eft_train_available": eft_available,
        "eft_held_out": eft_held_out.len(),
        "sft_ift": sft_ift.len(),
        "sft_eft": sft_eft.len(),
    });
    Ok(PreparedData {
        sft_ift,
        sft_eft,
        eft_held_out,
        seed_prompts,
        stats,
    })
}
