//! Summed log-probabilities of responses given prompts, for a whole batch in one forward pass
//! (the quantity DPO compares between policy and reference).

use burn::tensor::{Int, Tensor, TensorData};

use crate::batch::{Padding, TokenBatch};
use crate::error::{ModelError, Result};
use crate::llama::Llama;
use crate::log_sum_exp::log_sum_exp;
use crate::weights::read_f32;

/// A prompt and a response, as token ids. The response should end with the end-of-turn token
/// when its log-probability is to include it (as DPO's does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptResponse {
    /// Prompt ids (chat template applied, generation prompt included).
    pub prompt: Vec<u32>,
    /// Response ids.
    pub response: Vec<u32>,
}

/// The log-probability of one response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseLogprob {
    /// Sum over the response tokens of `log p(token | everything before it)`.
    pub logprob: f32,
    /// Number of response tokens summed over.
    pub tokens: usize,
}

/// Inputs for [`response_logprobs`]: the right-padded batch and, per row, which next-token
/// predictions belong to the response.
#[derive(Debug, Clone)]
pub struct ResponseBatch {
    /// `prompt ++ response`, right-padded.
    pub batch: TokenBatch,
    /// `[batch, seq - 1]` row-major: 1 where position `t` predicts a response token `t + 1`.
    pub mask: Vec<f32>,
    /// `[batch, seq - 1]`: the token each position should predict (the input shifted left).
    pub targets: Vec<i64>,
}

impl ResponseBatch {
    /// Lays out `pairs`; fails on an empty prompt or response.
    pub fn new(pairs: &[PromptResponse], pad_id: u32) -> Result<Self> {
        for (i, p) in pairs.iter().enumerate() {
            if p.prompt.is_empty() || p.response.is_empty() {
                return Err(ModelError::InvalidInput(format!(
                    "pair {i}: prompt and response must both be non-empty"
                )));
            }
        }
        let sequences: Vec<Vec<u32>> = pairs
            .iter()
            .map(|p| [p.prompt.as_slice(), p.response.as_slice()].concat())
            .collect();
        let batch = TokenBatch::pad(&sequences, pad_id, Padding::Right)?;
        let width = batch.seq - 1;
        let mut mask = vec![0.0; batch.batch * width];
        let mut targets = vec![i64::from(pad_id); batch.batch * width];
        for (row, (pair, seq)) in pairs.iter().zip(&sequences).enumerate() {
            for t in 0..seq.len() - 1 {
                targets[row * width + t] = i64::from(seq[t + 1]);
                if t + 1 >= pair.prompt.len() {
                    mask[row * width + t] = 1.0;
                }
            }
        }
        Ok(ResponseBatch {
            batch,
            mask,
            targets,
        })
    }
}

/// Summed response log-probabilities, `[batch]`, differentiable (on an autodiff device).
///
/// Logits are computed only at the positions that predict a response token: the output
/// projection and the log-softmax over the vocabulary (the largest tensors of a training step,
/// `[tokens, vocab]`) cost in proportion to the response, not the whole sequence.
pub fn response_logprobs(model: &Llama, inputs: &ResponseBatch) -> Result<Tensor<1>> {
    let device = model.device();
    let (b, t) = (inputs.batch.batch, inputs.batch.seq);
    if t < 2 {
        return Err(ModelError::InvalidInput(
            "sequences need at least two tokens".into(),
        ));
    }
    let width = t - 1;
    // Flat hidden-state rows (`row · t + position`) that predict a response token, their
    // targets, and which batch row each belongs to.
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    let mut owner = Vec::new();
    for (i, &m) in inputs.mask.iter().enumerate() {
        if m > 0.0 {
            let (row, position) = (i / width, i % width);
            rows.push((row * t + position) as i64);
            targets.push(inputs.targets[i]);
            owner.push(row);
        }
    }
    let n = rows.len();
    let (tokens, positions, bias) = model.step_inputs(&inputs.batch, None, 0)?;
    let hidden = model.forward_hidden(tokens, positions, bias, None);
    let d = hidden.dims()[2];
    let rows = Tensor::<1, Int>::from_data(TensorData::new(rows, [n]), &device);
    let picked = hidden.reshape([b * t, d]).select(0, rows);
    let targets = targets
        .iter()
        .map(|&id| {
            u32::try_from(id)
                .map_err(|_| ModelError::InvalidInput(format!("target token id {id} is negative")))
        })
        .collect::<Result<Vec<u32>>>()?;
    let logp = model.target_logprobs(picked, &targets).reshape([n, 1]);
    // Per-row sums as one small matmul: `[b, n]` one-hot owners × `[n, 1]`.
    let mut owners = vec![0.0f32; b * n];
    for (j, &row) in owner.iter().enumerate() {
        owners[row * n + j] = 1.0;
    }
    let owners = Tensor::<2>::from_data(TensorData::new(owners, [b, n]), &device);
    Ok(owners.matmul(logp).reshape([b]))
}

/// Host-side summed log-probabilities and token counts for `pairs`.
pub fn sequence_logprobs(
    model: &Llama,
    pairs: &[PromptResponse],
    pad_id: u32,
) -> Result<Vec<ResponseLogprob>> {
    let inputs = ResponseBatch::new(pairs, pad_id)?;
    let values = read_f32(response_logprobs(model, &inputs)?, "log-probs")?;
    Ok(values
        .into_iter()
        .zip(pairs)
        .map(|(logprob, p)| ResponseLogprob {
            logprob,
            tokens: p.response.len(),
        })
        .collect())
}

/// Log-probabilities of each of `candidates` as the token that follows each prompt:
/// `result[i][j] = log p(candidates[j] | prompts[i])`, from one batched forward pass.
pub fn next_token_logprobs(
    model: &Llama,
    prompts: &[Vec<u32>],
    pad_id: u32,
    candidates: &[u32],
) -> Result<Vec<Vec<f32>>> {
    let vocab = model.vocab_size();
    if let Some(bad) = candidates.iter().find(|&&c| c as usize >= vocab) {
        return Err(ModelError::InvalidInput(format!(
            "candidate token {bad} is outside the vocabulary (size {vocab})"
        )));
    }
    let batch = TokenBatch::pad(prompts, pad_id, Padding::Left)?;
    let (tokens, positions, bias) = model.step_inputs(&batch, None, 0)?;
    let hidden = model.forward_hidden(tokens, positions, bias, None);
    let [b, t, d] = hidden.dims();
    let logits = model.logits(hidden.slice([0..b, t - 1..t, 0..d]));
    let logp = logits.clone() - log_sum_exp(logits);
    let host = read_f32(logp.reshape([b, vocab]), "next-token log-probs")?;
    Ok((0..b)
        .map(|row| {
            candidates
                .iter()
                .map(|&c| host[row * vocab + c as usize])
                .collect()
        })
        .collect())
}
