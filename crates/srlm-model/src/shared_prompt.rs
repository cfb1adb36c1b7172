//! Summed log-probabilities of several responses to one prompt, with the prompt run once: the
//! prefix sharing of preference training (Wang et al., 2024, "Accelerating Direct Preference
//! Optimization with Prefix Sharing", arXiv:2410.20305).
//!
//! A DPO pair's chosen and rejected responses answer the same prompt. Laid out as two rows
//! (`prompt ++ chosen`, `prompt ++ rejected`), the prompt's tokens go through the model twice.
//! Here they are one row, `prompt ++ chosen ++ rejected`, whose attention bias keeps the
//! branches apart: a response's token sees the prompt and its own response's earlier tokens,
//! never the other response; its rotary position continues from the prompt's end, as in its
//! own row. Every response token's hidden state, and so its log-probability, is the one the
//! separate rows give, up to the order of floating-point sums.

use burn::tensor::{Int, Tensor, TensorData};

use crate::error::{ModelError, Result};
use crate::llama::{Llama, MASKED};

/// One prompt and the responses to score against it (each non-empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptResponses {
    /// Prompt ids (chat template applied, generation prompt included).
    pub prompt: Vec<u32>,
    /// Response ids, each ending with the end-of-turn token when its log-probability is to
    /// include it.
    pub responses: Vec<Vec<u32>>,
}

/// Inputs for [`shared_prompt_logprobs`]: one row per prompt, `prompt ++ response₀ ++
/// response₁ ++ …`, right-padded, with each token's rotary position and the attention bias
/// that keeps the responses apart.
#[derive(Debug, Clone)]
pub struct SharedPromptBatch {
    /// `[rows, seq]` ids, row-major; padding holds the pad id.
    tokens: Vec<u32>,
    /// `[rows, seq]` rotary positions: the prompt's from 0, each response's from the prompt's
    /// length.
    positions: Vec<i64>,
    /// `[rows, seq, seq]` additive bias: 0 where a query may look.
    bias: Vec<f32>,
    rows: usize,
    seq: usize,
    /// Per predicted token: the flat index (`row · seq + position`) of the hidden state that
    /// predicts it, the token, and the response (in input order, over all rows) it belongs to.
    predictors: Vec<i64>,
    targets: Vec<u32>,
    owners: Vec<usize>,
    responses: usize,
}

/// What a position of a row holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Segment {
    Prompt,
    Response(usize),
    Padding,
}

impl SharedPromptBatch {
    /// Lays out `groups`; fails on an empty batch, prompt or response.
    pub fn new(groups: &[PromptResponses], pad_id: u32) -> Result<Self> {
        if groups.is_empty() {
            return Err(ModelError::InvalidInput("an empty batch".into()));
        }
        for (i, g) in groups.iter().enumerate() {
            if g.prompt.is_empty()
                || g.responses.is_empty()
                || g.responses.iter().any(Vec::is_empty)
            {
                return Err(ModelError::InvalidInput(format!(
                    "prompt {i}: the prompt and every response must be non-empty, and there \
                     must be at least one response"
                )));
            }
        }
        let seq = groups
            .iter()
            .map(|g| g.prompt.len() + g.responses.iter().map(Vec::len).sum::<usize>())
            .max()
            .unwrap_or(0);
        let rows = groups.len();
        let mut batch = SharedPromptBatch {
            tokens: vec![pad_id; rows * seq],
            positions: vec![0; rows * seq],
            bias: vec![MASKED; rows * seq * seq],
            rows,
            seq,
            predictors: Vec::new(),
            targets: Vec::new(),
            owners: Vec::new(),
            responses: 0,
        };
        for (row, group) in groups.iter().enumerate() {
            batch.lay_row(row, group);
        }
        Ok(batch)
    }

    /// Writes `group` into row `row`: tokens, positions, predictions, then the bias.
    fn lay_row(&mut self, row: usize, group: &PromptResponses) {
        let base = row * self.seq;
        let prompt = group.prompt.len();
        let mut segments = vec![Segment::Padding; self.seq];
        self.tokens[base..base + prompt].copy_from_slice(&group.prompt);
        for (i, position) in self.positions[base..base + prompt].iter_mut().enumerate() {
            *position = i as i64;
        }
        segments[..prompt].fill(Segment::Prompt);
        let mut start = prompt;
        for (k, response) in group.responses.iter().enumerate() {
            let owner = self.responses + k;
            for (m, &token) in response.iter().enumerate() {
                let at = start + m;
                self.tokens[base + at] = token;
                self.positions[base + at] = (prompt + m) as i64;
                segments[at] = Segment::Response(k);
                // The first token is predicted by the prompt's last position, the others by
                // the response's previous token.
                let predictor = if m == 0 { prompt - 1 } else { at - 1 };
                self.predictors.push((base + predictor) as i64);
                self.targets.push(token);
                self.owners.push(owner);
            }
            start += response.len();
        }
        self.responses += group.responses.len();
        for query in 0..self.seq {
            let bias = &mut self.bias[(base + query) * self.seq..(base + query + 1) * self.seq];
            match segments[query] {
                // Padding looks at the first token only: a row of the softmax must see a key.
                Segment::Padding => bias[0] = 0.0,
                own => {
                    for key in 0..=query {
                        if segments[key] == Segment::Prompt || segments[key] == own {
                            bias[key] = 0.0;
                        }
                    }
                }
            }
        }
    }

    /// Number of responses, over all rows (the length of [`shared_prompt_logprobs`]' output).
    pub fn responses(&self) -> usize {
        self.responses
    }

    /// Tokens the model runs: rows × the longest row.
    pub fn padded_tokens(&self) -> usize {
        self.rows * self.seq
    }
}

/// Summed log-probabilities of every response of `inputs`, `[responses]` in input order (the
/// first prompt's responses, then the second's, …), differentiable on an autodiff device. Each
/// prompt runs once, however many responses it has; the values are [`response_logprobs`]'
/// over `prompt ++ response` rows.
///
/// ```
/// use srlm_model::{
///     parse_device, shared_prompt_logprobs, Llama, LlamaConfig, PromptResponses, SharedPromptBatch,
/// };
///
/// let model = Llama::random(&LlamaConfig::tiny(64, 32, 2, 4, 2), &parse_device("cpu")?, 1)?;
/// // One prompt, a chosen and a rejected response: one row of 3 + 2 + 1 tokens.
/// let pair = PromptResponses { prompt: vec![1, 2, 3], responses: vec![vec![4, 5], vec![6]] };
/// let batch = SharedPromptBatch::new(&[pair], 0)?;
/// assert_eq!((batch.responses(), batch.padded_tokens()), (2, 6));
/// let logps = shared_prompt_logprobs(&model, &batch)?;
/// assert_eq!(logps.dims(), [2]);
/// # Ok::<(), srlm_model::ModelError>(())
/// ```
///
/// [`response_logprobs`]: crate::response_logprobs
pub fn shared_prompt_logprobs(model: &Llama, inputs: &SharedPromptBatch) -> Result<Tensor<1>> {
    let device = model.device();
    let (rows, seq) = (inputs.rows, inputs.seq);
    model.check_tokens(&inputs.tokens)?;
    model.check_positions(&inputs.positions)?;
    let tokens: Vec<i64> = inputs.tokens.iter().map(|&id| i64::from(id)).collect();
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [rows, seq]), &device);
    let positions = Tensor::<2, Int>::from_data(
        TensorData::new(inputs.positions.clone(), [rows, seq]),
        &device,
    );
    let bias = Tensor::<4>::from_data(
        TensorData::new(inputs.bias.clone(), [rows, 1, seq, seq]),
        &device,
    );
    let hidden = model.forward_hidden(tokens, positions, bias, None);
    let d = hidden.dims()[2];
    let n = inputs.predictors.len();
    let predictors =
        Tensor::<1, Int>::from_data(TensorData::new(inputs.predictors.clone(), [n]), &device);
    let picked = hidden.reshape([rows * seq, d]).select(0, predictors);
    let logp = model
        .target_logprobs(picked, &inputs.targets)
        .reshape([n, 1]);
    // Per-response sums as one small matmul: `[responses, n]` one-hot owners × `[n, 1]`.
    let r = inputs.responses;
    let mut owners = vec![0.0f32; r * n];
    for (j, &owner) in inputs.owners.iter().enumerate() {
        owners[owner * n + j] = 1.0;
    }
    let owners = Tensor::<2>::from_data(TensorData::new(owners, [r, n]), &device);
    Ok(owners.matmul(logp).reshape([r]))
}
