//! Batched generation with a KV cache: one prefill of the whole left-padded batch, then one
//! decoding step per new token; finished sequences leave the batch. Tokens are chosen on the
//! host on burn-flex and on the device elsewhere (see [`sample_on_device`]).

use rand::rngs::StdRng;
use rand::Rng;

mod continuous;
mod paths;

pub use continuous::{generate_continuous, ContinuousBatching};
pub use paths::GenerationPath;

use crate::batch::{Padding, TokenBatch};
use crate::device_sampling::sample_on_device;
use crate::error::{ModelError, Result};
use crate::llama::{row_index, Llama};
use crate::sampling::{sample, sequence_rng};
use crate::weights::read_f32;

pub use srlm_generation::GenerationConfig;

/// Why a sequence stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop token was generated.
    Stop,
    /// `max_new_tokens` (or the model's context) was reached.
    Length,
}

/// One generated continuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The new tokens only, the stop token included when there is one.
    pub token_ids: Vec<u32>,
    /// Why it ended.
    pub finish: FinishReason,
}

/// Whether next tokens are chosen on the host: on burn-flex, where the logits already live in
/// host memory (the reference path, [`sample`]). Every other backend chooses them on the device
/// ([`sample_on_device`]) and reads back one id per row.
fn samples_on_host(device: &burn::tensor::Device) -> bool {
    #[cfg(feature = "flex")]
    {
        matches!(device.as_dispatch(), burn::backend::DispatchDevice::Flex(_))
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// Positions the KV cache grows by when decoding writes in place ([`GenerationPath::KvInPlace`]): one
/// copy of the cache per this many steps, and at most this many masked keys read per step.
const KV_ROOM: usize = 64;

/// Fewest tokens all prompts of a batch must share for the prefix to be prefilled once.
const MIN_SHARED_PREFIX: usize = 16;

/// The length of the token prefix every prompt shares, when there are several prompts and it
/// is worth prefilling once (at least [`MIN_SHARED_PREFIX`] tokens); each prompt keeps at least
/// one token of its own, whose position gives its first logits.
fn shared_prefix_len(prompts: &[Vec<u32>]) -> Option<usize> {
    let (first, rest) = prompts.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let shortest = prompts.iter().map(Vec::len).min().unwrap_or(0);
    let shared = rest.iter().fold(first.len(), |shared, p| {
        first[..shared]
            .iter()
            .zip(p)
            .take_while(|(a, b)| a == b)
            .count()
    });
    let shared = shared.min(shortest.saturating_sub(1));
    (shared >= MIN_SHARED_PREFIX).then_some(shared)
}

/// Prefills the prefix every prompt shares once (one row), copies its KV cache to every
/// prompt's row, then prefills the prompts' own tokens, left-padded, after it (the prefix
/// caching of vLLM and SGLang, within one batch: a judge's rubric, a fixed instruction). The
/// padding sits between the prefix and each prompt's own tokens, masked by the attention bias;
/// positions count real tokens only, so every row sees the same sequence as unshared.
/// Returns the last hidden states and each prompt's cache validity.
fn prefill_after_prefix(
    model: &Llama,
    prompts: &[Vec<u32>],
    shared: usize,
    pad_id: u32,
    cache: &mut crate::llama::KvCache,
) -> Result<(burn::tensor::Tensor<3>, Vec<Vec<bool>>)> {
    let prefix = TokenBatch::pad(&[prompts[0][..shared].to_vec()], pad_id, Padding::Left)?;
    let (tokens, positions, bias) = model.step_inputs(&prefix, None, 0)?;
    drop(model.forward_hidden(tokens, positions, bias, Some(cache)));
    cache.retain_rows(&vec![0; prompts.len()], &model.device());
    let own: Vec<Vec<u32>> = prompts.iter().map(|p| p[shared..].to_vec()).collect();
    let rest = TokenBatch::pad(&own, pad_id, Padding::Left)?;
    let past_valid = vec![true; prompts.len() * shared];
    let (tokens, positions, bias) = model.step_inputs(&rest, Some(&past_valid), shared)?;
    let hidden = model.forward_hidden(tokens, positions, bias, Some(cache));
    let valid = rest
        .valid
        .chunks(rest.seq)
        .map(|row| [vec![true; shared], row.to_vec()].concat())
        .collect();
    Ok((hidden, valid))
}

/// Generates a continuation of every prompt (token ids, chat template already applied).
pub fn generate(
    model: &Llama,
    prompts: &[Vec<u32>],
    pad_id: u32,
    config: &GenerationConfig,
) -> Result<Vec<Generation>> {
    generate_samples(model, prompts, 1, pad_id, config)
}

/// Prefills `prompts` into the empty `cache`, each prompt's row then repeated `samples` times
/// (prompt-major): returns each row's last hidden state `[rows, 1, d]` and which of its cached
/// cells are real tokens. The prefix all prompts share is prefilled once when
/// [`GenerationPath::PrefixCache`] is on.
pub(crate) fn prefill_rows(
    model: &Llama,
    prompts: &[Vec<u32>],
    samples: usize,
    pad_id: u32,
    cache: &mut crate::llama::KvCache,
) -> Result<(burn::tensor::Tensor<3>, Vec<Vec<bool>>)> {
    let (hidden, prompt_valid) = match shared_prefix_len(prompts) {
        Some(shared) if GenerationPath::PrefixCache.is_on() => {
            prefill_after_prefix(model, prompts, shared, pad_id, cache)?
        }
        _ => {
            let batch = TokenBatch::pad(prompts, pad_id, Padding::Left)?;
            let (tokens, positions, bias) = model.step_inputs(&batch, None, 0)?;
            let hidden = model.forward_hidden(tokens, positions, bias, Some(cache));
            let valid = batch
                .valid
                .chunks(batch.seq)
                .map(<[bool]>::to_vec)
                .collect();
            (hidden, valid)
        }
    };
    let valid: Vec<Vec<bool>> = prompt_valid
        .into_iter()
        .flat_map(|v| std::iter::repeat_n(v, samples))
        .collect();
    let [b, t, d] = hidden.dims();
    let last = hidden.slice([0..b, t - 1..t, 0..d]);
    if samples == 1 {
        return Ok((last, valid));
    }
    // One prefill per prompt; each sample starts from a copy of its prompt's cache row.
    let rows: Vec<usize> = (0..prompts.len())
        .flat_map(|i| std::iter::repeat_n(i, samples))
        .collect();
    let device = model.device();
    cache.retain_rows(&rows, &device);
    Ok((last.select(0, row_index(&rows, &device)), valid))
}

/// The next token of every row of `hidden` (`[rows, 1, d]`, each row's last hidden state):
/// `requests[r]` is the request row `r` answers, whose stream in `rngs` it draws from; `None`
/// for a row whose token is not wanted (it gets `pad_id` and draws nothing).
pub(crate) fn next_tokens(
    model: &Llama,
    hidden: burn::tensor::Tensor<3>,
    requests: &[Option<usize>],
    rngs: &mut [StdRng],
    config: &GenerationConfig,
    pad_id: u32,
) -> Result<Vec<u32>> {
    // Each row's own stream, taken out of `rngs` (a request has one row at most).
    let mut all: Vec<Option<&mut StdRng>> = rngs.iter_mut().map(Some).collect();
    let mut streams: Vec<Option<&mut StdRng>> = requests
        .iter()
        .map(|request| request.and_then(|r| all[r].take()))
        .collect();
    let b = hidden.dims()[0];
    let logits = model.logits(hidden);
    let vocab = logits.dims()[2];
    let logits = logits.reshape([b, vocab]);
    if samples_on_host(&model.device()) {
        let logits = read_f32(logits, "logits")?;
        return Ok(streams
            .iter_mut()
            .enumerate()
            .map(|(row, stream)| match stream {
                Some(rng) => sample(
                    &logits[row * vocab..(row + 1) * vocab],
                    &config.sampling,
                    rng,
                ),
                None => pad_id,
            })
            .collect());
    }
    // One draw per row from its stream, as the host path takes when it samples.
    let uniforms: Vec<f64> = if config.sampling.temperature == 0.0 || vocab <= 1 {
        Vec::new()
    } else {
        streams
            .iter_mut()
            .map(|s| s.as_mut().map_or(0.5, |rng| rng.random::<f64>()))
            .collect()
    };
    let ids = sample_on_device(logits, &config.sampling, &uniforms)?;
    Ok(ids
        .into_iter()
        .zip(streams.iter())
        .map(|(id, s)| if s.is_some() { id } else { pad_id })
        .collect())
}

/// One decoding step: feeds `next` (a token per cache row) after the cached positions, whose
/// real cells are `valid`, into `cache` — a row's token counts as a real one (attended to, at
/// the row's next position) where `real` says so, else it is masked and takes no position
/// (a finished row kept in the batch) — in place into
/// reserved room when [`GenerationPath::KvInPlace`] is on, reserving up to `room_hint` positions when
/// the room is used up — and returns each row's new hidden state `[rows, 1, d]`.
pub(crate) fn decode_step(
    model: &Llama,
    cache: &mut crate::llama::KvCache,
    valid: &mut [Vec<bool>],
    next: Vec<u32>,
    real: &[bool],
    room_hint: usize,
) -> Result<burn::tensor::Tensor<3>> {
    let past = cache.len();
    let flat: Vec<bool> = valid.iter().flatten().copied().collect();
    let mut column = TokenBatch::column(next);
    column.valid = real.to_vec();
    if GenerationPath::KvInPlace.is_on() && cache.room() == 0 {
        cache.reserve(KV_ROOM.min(room_hint.max(1)));
    }
    // Room already reserved is written into whatever the switch says now (another thread
    // may have turned it off mid-generation).
    let keys = if cache.room() > 0 {
        cache.capacity()
    } else {
        past + 1
    };
    let (tokens, positions, bias) =
        model.step_inputs_with_room(&column, Some(&flat), past, keys)?;
    let hidden = model.forward_hidden(tokens, positions, bias, Some(cache));
    valid.iter_mut().zip(real).for_each(|(v, &r)| v.push(r));
    Ok(hidden)
}

/// The most new tokens a sequence of `prompt` may take: `config.max_new_tokens`, or fewer
/// where the model's positions end first.
pub(crate) fn token_limit(model: &Llama, prompt: &[u32], config: &GenerationConfig) -> usize {
    config
        .max_new_tokens
        .min(model.max_positions().saturating_sub(prompt.len()))
}

/// Checks what every generation path checks before it starts.
fn check_request(
    model: &Llama,
    prompts: &[Vec<u32>],
    samples: usize,
    config: &GenerationConfig,
) -> Result<()> {
    config.sampling.validate()?;
    if samples == 0 {
        return Err(ModelError::InvalidInput(
            "at least one sample per prompt".into(),
        ));
    }
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    if longest >= model.max_positions() {
        return Err(ModelError::InvalidInput(format!(
            "prompt of {longest} tokens leaves no room in the model's {} positions",
            model.max_positions()
        )));
    }
    Ok(())
}

/// Generates `samples` continuations of every prompt, prefilling each prompt once and copying
/// its KV cache to its samples. Returns them prompt-major: prompt `i`'s sample `j` is at
/// `i * samples + j`, drawn from the random stream of that index — the same stream
/// [`generate`] gives the sequence at that index when each prompt is repeated `samples` times.
/// All prompts decode as one batch until the last finishes ([`generate_continuous`] instead
/// keeps a batch of bounded size full).
pub fn generate_samples(
    model: &Llama,
    prompts: &[Vec<u32>],
    samples: usize,
    pad_id: u32,
    config: &GenerationConfig,
) -> Result<Vec<Generation>> {
    check_request(model, prompts, samples, config)?;
    // Checked above: the padded batch is what the prefill builds.
    TokenBatch::pad(prompts, pad_id, Padding::Left)?;
    let requests = prompts.len() * samples;
    let mut outputs: Vec<Generation> = (0..requests)
        .map(|_| Generation {
            token_ids: Vec::new(),
            finish: FinishReason::Length,
        })
        .collect();
    if config.max_new_tokens == 0 {
        return Ok(outputs);
    }
    let mut rngs: Vec<_> = (0..requests)
        .map(|i| sequence_rng(config.seed, i))
        .collect();
    let mut cache = model.new_cache();
    let (mut hidden, mut valid) = prefill_rows(model, prompts, samples, pad_id, &mut cache)?;
    // `active[r]`: the request index of cache row `r`; `valid[r]`: which cached cells are real.
    let mut active: Vec<usize> = (0..requests).collect();
    // Each sequence's most new tokens: the request's, or what the model's positions leave
    // after its own prompt (not the batch's longest: a sequence does not depend on its batch).
    let limits: Vec<usize> = (0..requests)
        .map(|r| token_limit(model, &prompts[r / samples], config))
        .collect();
    let steps = limits.iter().copied().max().unwrap_or(0);
    for step in 0..steps {
        let requests: Vec<Option<usize>> = active.iter().copied().map(Some).collect();
        let ids = next_tokens(model, hidden, &requests, &mut rngs, config, pad_id)?;
        let mut next = Vec::with_capacity(active.len());
        let mut keep = Vec::with_capacity(active.len());
        for (row, &request) in active.iter().enumerate() {
            let id = ids[row];
            let out = &mut outputs[request];
            out.token_ids.push(id);
            if config.stop_ids.contains(&id) {
                out.finish = FinishReason::Stop;
            } else if out.token_ids.len() < limits[request] {
                keep.push(row);
                next.push(id);
            }
        }
        if keep.is_empty() {
            break;
        }
        if keep.len() < active.len() {
            cache.retain_rows(&keep, &model.device());
            active = keep.iter().map(|&r| active[r]).collect();
            valid = keep
                .iter()
                .map(|&r| std::mem::take(&mut valid[r]))
                .collect();
        }
        let real = vec![true; next.len()];
        hidden = decode_step(model, &mut cache, &mut valid, next, &real, steps - step)?;
    }
    Ok(outputs)
}
