//! Token batches for training: examples grouped under a token budget, right-padded, with the
//! loss mask of [`ResponseBatch`] (1 only where a position predicts a response token). Preference
//! batches put every chosen row first and every rejected row after it, for one forward pass; or,
//! where each pair's two sides share their prompt, one row per pair with the prompt run once
//! ([`shared_preference_batch`]).

#[cfg(feature = "model")]
use srlm_model::{PromptResponses, ResponseBatch, SharedPromptBatch};

#[cfg(feature = "model")]
use crate::encoded::{EncodedExample, EncodedPair};
#[cfg(feature = "model")]
use crate::error::{DataError, Result};

/// Groups consecutive items so that each group's padded size (rows × longest row) stays within
/// `budget` tokens and holds at most `max_rows` rows. An item longer than the budget gets a
/// group of its own. Order is kept: shuffle before, if wanted.
pub fn batch_by_tokens(lengths: &[usize], budget: usize, max_rows: usize) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for (i, &len) in lengths.iter().enumerate() {
        let widest = longest.max(len);
        if !current.is_empty()
            && (widest * (current.len() + 1) > budget || current.len() >= max_rows)
        {
            groups.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len);
        current.push(i);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// The items ordered by length (shortest first; ties in their given order), then grouped as
/// [`batch_by_tokens`] groups them: how one optimizer step's items are split into
/// micro-batches. Similar lengths share a group, so less of each group is padding and its
/// attention (quadratic in the padded length) costs less; the step's gradient is the same sum
/// over its items, in another order. Returns indices into `lengths`.
pub fn batch_by_length(lengths: &[usize], budget: usize, max_rows: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let sorted: Vec<usize> = order.iter().map(|&i| lengths[i]).collect();
    batch_by_tokens(&sorted, budget, max_rows)
        .into_iter()
        .map(|group| group.into_iter().map(|k| order[k]).collect())
        .collect()
}

/// A right-padded SFT batch.
#[cfg(feature = "model")]
pub fn sft_batch(examples: &[&EncodedExample], pad_id: u32) -> Result<ResponseBatch> {
    if examples.is_empty() {
        return Err(DataError::InvalidConfig("an empty batch".into()));
    }
    let pairs: Vec<_> = examples.iter().map(|e| e.to_prompt_response()).collect();
    Ok(ResponseBatch::new(&pairs, pad_id)?)
}

/// A preference batch: rows `0..n` are the chosen sides, rows `n..2n` the rejected ones.
#[cfg(feature = "model")]
pub fn preference_batch(pairs: &[&EncodedPair], pad_id: u32) -> Result<ResponseBatch> {
    if pairs.is_empty() {
        return Err(DataError::InvalidConfig("an empty batch".into()));
    }
    let rows: Vec<_> = pairs
        .iter()
        .map(|p| p.chosen.to_prompt_response())
        .chain(pairs.iter().map(|p| p.rejected.to_prompt_response()))
        .collect();
    Ok(ResponseBatch::new(&rows, pad_id)?)
}

/// A preference batch with each pair's prompt run once: row `i` is `prompt ++ chosen ++
/// rejected` of pair `i` ([`SharedPromptBatch`]), scored in the order chosen₀, rejected₀,
/// chosen₁, …. `None` when some pair's two sides have different prompts ([`preference_batch`]
/// lays those out).
#[cfg(feature = "model")]
pub fn shared_preference_batch(
    pairs: &[&EncodedPair],
    pad_id: u32,
) -> Result<Option<SharedPromptBatch>> {
    if pairs.is_empty() {
        return Err(DataError::InvalidConfig("an empty batch".into()));
    }
    if pairs.iter().any(|p| p.chosen.prompt != p.rejected.prompt) {
        return Ok(None);
    }
    let groups: Vec<PromptResponses> = pairs
        .iter()
        .map(|p| PromptResponses {
            prompt: p.chosen.prompt.clone(),
            responses: vec![p.chosen.response.clone(), p.rejected.response.clone()],
        })
        .collect();
    Ok(Some(SharedPromptBatch::new(&groups, pad_id)?))
}
