//! The frozen reference model's log-probabilities: computed once for a whole preference set
//! before training, and cached on disk under the content hashes of the reference weights and of
//! the tokenised data, so a rerun or a resumed run reads them instead of running the reference
//! again — and the reference need not stay in memory during training.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use srlm_data::{batch_by_tokens, EncodedExample, EncodedPair};
use srlm_model::burn::module::Module;
use srlm_model::{read_f32, write_atomic, Llama};

use crate::error::{Result, TrainError};
use crate::objective::pair_logprobs;

/// Summed reference log-probs of each pair's chosen and rejected responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceLogps {
    /// Per pair, chosen.
    pub chosen: Vec<f32>,
    /// Per pair, rejected.
    pub rejected: Vec<f32>,
}

/// Whether the cache answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from the cache file.
    Hit,
    /// Computed (and written, when a cache folder was given).
    Computed,
}

/// SHA-256 of a model's weights: names, shapes and f32 values in name order
/// ([`srlm_model::WeightMap::sha256`]).
pub fn weights_hash(model: &Llama) -> Result<String> {
    Ok(model.to_weights()?.sha256())
}

/// Adds a sequence of ids, its length first (so `[1, 2] [3]` differs from `[1] [2, 3]`).
fn update_ids(hasher: &mut Sha256, ids: &[u32]) {
    hasher.update((ids.len() as u64).to_le_bytes());
    for id in ids {
        hasher.update(id.to_le_bytes());
    }
}

/// SHA-256 of a tokenised preference set (every id of every prompt, chosen and rejected).
pub fn data_hash(pairs: &[EncodedPair]) -> String {
    let mut hasher = Sha256::new();
    for p in pairs {
        for part in [
            &p.chosen.prompt,
            &p.chosen.response,
            &p.rejected.prompt,
            &p.rejected.response,
        ] {
            update_ids(&mut hasher, part);
        }
    }
    hex(&hasher.finalize())
}

/// SHA-256 of a tokenised SFT set (every id of every prompt and response).
pub(crate) fn examples_hash(examples: &[EncodedExample]) -> String {
    let mut hasher = Sha256::new();
    for e in examples {
        update_ids(&mut hasher, &e.prompt);
        update_ids(&mut hasher, &e.response);
    }
    hex(&hasher.finalize())
}

impl ReferenceLogps {
    /// SHA-256 of the log-probs' bits: they identify the reference model on these pairs.
    pub(crate) fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        for side in [&self.chosen, &self.rejected] {
            hasher.update((side.len() as u64).to_le_bytes());
            for v in side {
                hasher.update(v.to_le_bytes());
            }
        }
        hex(&hasher.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    weights_hash: String,
    data_hash: String,
    logps: ReferenceLogps,
}

/// The cache file for a pair of hashes inside `dir`.
pub fn cache_path(dir: &Path, weights_hash: &str, data_hash: &str) -> PathBuf {
    dir.join(format!(
        "reference-logps-{}-{}.json",
        &weights_hash[..16.min(weights_hash.len())],
        &data_hash[..16.min(data_hash.len())]
    ))
}

/// Reads the cache for these hashes, or runs `compute` and writes its result atomically.
pub fn cached_reference_logps(
    dir: Option<&Path>,
    weights_hash: &str,
    data_hash: &str,
    pairs: usize,
    compute: impl FnOnce() -> Result<ReferenceLogps>,
) -> Result<(ReferenceLogps, CacheOutcome)> {
    if let Some(dir) = dir {
        let path = cache_path(dir, weights_hash, data_hash);
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
            let file: CacheFile =
                serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
                    path: path.clone(),
                    reason: format!("unreadable reference cache: {e}"),
                })?;
            if file.weights_hash == weights_hash
                && file.data_hash == data_hash
                && file.logps.chosen.len() == pairs
                && file.logps.rejected.len() == pairs
            {
                tracing::info!(path = %path.display(), "reference log-probs read from the cache");
                return Ok((file.logps, CacheOutcome::Hit));
            }
            tracing::warn!(path = %path.display(), "reference cache does not match; recomputing");
        }
    }
    let logps = compute()?;
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
        let path = cache_path(dir, weights_hash, data_hash);
        let file = CacheFile {
            weights_hash: weights_hash.to_string(),
            data_hash: data_hash.to_string(),
            logps: logps.clone(),
        };
        let text = serde_json::to_string(&file).map_err(|e| TrainError::Checkpoint {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, text.as_bytes())?;
    }
    Ok((logps, CacheOutcome::Computed))
}

/// Runs `reference` (no gradients) over `pairs` in token-budget batches.
pub fn compute_reference_logps(
    reference: &Llama,
    pairs: &[EncodedPair],
    pad_id: u32,
    batch_tokens: usize,
) -> Result<ReferenceLogps> {
    let reference = reference.valid();
    let lengths: Vec<usize> = pairs
        .iter()
        .map(|p| p.chosen.len().max(p.rejected.len()) * 2)
        .collect();
    let mut chosen = vec![0.0; pairs.len()];
    let mut rejected = vec![0.0; pairs.len()];
    for group in batch_by_tokens(&lengths, batch_tokens, usize::MAX) {
        let refs: Vec<&EncodedPair> = group.iter().map(|&i| &pairs[i]).collect();
        let (c, r) = pair_logprobs(&reference, &refs, pad_id)?;
        let (c, r) = (
            read_f32(c, "reference log-probs")?,
            read_f32(r, "reference log-probs")?,
        );
        for (k, &i) in group.iter().enumerate() {
            chosen[i] = c[k];
            rejected[i] = r[k];
        }
    }
    Ok(ReferenceLogps { chosen, rejected })
}
