//! Continuous batching (the scheduling of Orca and vLLM, on one device): a batch of at most
//! `rows` sequences decodes one token per step; sequences that finish leave it, and waiting
//! prompts are prefilled and join it while the others are mid-answer, so the batch stays full
//! instead of running down to its longest sequence before the next batch starts.

use rand::rngs::StdRng;

use super::{
    check_request, decode_step, next_tokens, prefill_rows, token_limit, FinishReason, Generation,
    GenerationConfig,
};
use crate::error::Result;
use crate::llama::{row_index, KvCache, Llama};
use crate::sampling::sequence_rng;

/// How [`generate_continuous`] fills its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuousBatching {
    /// Most sequences decoding at once (a prompt with more samples than this decodes alone).
    pub rows: usize,
}

impl ContinuousBatching {
    /// Prompts whose samples take their random streams together: the streams
    /// [`generate_samples`](super::generate_samples) gives when called on consecutive blocks of
    /// this many prompts, the block at prompt `p` with seed `seed + p · samples` — what
    /// [`LanguageModel::complete`](crate::LanguageModel::complete) does without continuous
    /// batching, so both give the same sequences.
    fn stream_block(&self, samples: usize) -> usize {
        (self.rows.max(1) / samples).max(1)
    }

    /// Free rows that let waiting prompts in: a quarter of the batch (each admission prefills
    /// a group and copies the cache once), and at least one prompt's samples.
    fn admit_at(&self, samples: usize) -> usize {
        (self.rows / 4).max(samples).max(1)
    }
}

/// One sequence of the batch: the request it answers and its cache row's real cells.
struct Row {
    request: usize,
    valid: Vec<bool>,
    /// Most new tokens it may take (the request's, or what the model's positions leave).
    limit: usize,
    finished: bool,
}

/// The sequences decoding now, in cache-row order, with their cache and last hidden states.
struct Batch {
    rows: Vec<Row>,
    cache: KvCache,
    /// `[rows, 1, d]`: the state each row's next token is chosen from.
    hidden: Option<burn::tensor::Tensor<3>>,
}

impl Batch {
    fn live(&self) -> usize {
        self.rows.iter().filter(|r| !r.finished).count()
    }

    /// Drops the finished rows (one copy of the cache).
    fn drop_finished(&mut self, model: &Llama) {
        let keep: Vec<usize> = (0..self.rows.len())
            .filter(|&r| !self.rows[r].finished)
            .collect();
        if keep.len() == self.rows.len() {
            return;
        }
        if keep.is_empty() {
            *self = Batch::empty(model);
            return;
        }
        let device = model.device();
        self.cache.retain_rows(&keep, &device);
        self.hidden = self
            .hidden
            .take()
            .map(|h| h.select(0, row_index(&keep, &device)));
        self.rows.retain(|r| !r.finished);
    }

    fn empty(model: &Llama) -> Self {
        Batch {
            rows: Vec::new(),
            cache: model.new_cache(),
            hidden: None,
        }
    }

    /// Adds freshly prefilled rows: both caches are brought to one length by masked cells on
    /// the left (positions count real cells only, so a row's sequence is unchanged) and to one
    /// capacity, then stacked.
    fn join(&mut self, mut cache: KvCache, hidden: burn::tensor::Tensor<3>, mut rows: Vec<Row>) {
        if self.rows.is_empty() {
            *self = Batch {
                rows,
                cache,
                hidden: Some(hidden),
            };
            return;
        }
        let (ours, theirs) = (self.cache.len(), cache.len());
        pad_left(&mut self.cache, &mut self.rows, theirs.saturating_sub(ours));
        pad_left(&mut cache, &mut rows, ours.saturating_sub(theirs));
        self.cache.append_rows(cache);
        self.hidden = Some(match self.hidden.take() {
            Some(h) => burn::tensor::Tensor::cat(vec![h, hidden], 0),
            None => hidden,
        });
        self.rows.extend(rows);
    }

    /// Drops the leading cache positions no row holds a real token in, once they are many: the
    /// batch shares one write position, which moves on with every step for as long as prompts
    /// keep joining, while each row only needs its own prompt and answer.
    fn trim(&mut self) {
        let len = self.cache.len();
        let unused = self
            .rows
            .iter()
            .map(|r| r.valid.iter().position(|&v| v).unwrap_or(len))
            .min()
            .unwrap_or(0);
        if unused >= TRIM_AT {
            self.cache.drop_left(unused);
            for row in &mut self.rows {
                row.valid.drain(..unused);
            }
        }
    }
}

impl Batch {
    /// Each live row's next token from `hidden`, drawn from its request's stream in `rngs`
    /// (finished rows get `pad_id` and draw nothing).
    fn next_tokens(
        &self,
        model: &Llama,
        hidden: burn::tensor::Tensor<3>,
        rngs: &mut [StdRng],
        config: &GenerationConfig,
        pad_id: u32,
    ) -> Result<Vec<u32>> {
        let requests: Vec<Option<usize>> = self
            .rows
            .iter()
            .map(|r| (!r.finished).then_some(r.request))
            .collect();
        next_tokens(model, hidden, &requests, rngs, config, pad_id)
    }

    /// Appends each live row's token to its request's output, finishing the rows that drew a
    /// stop token or reached their limit.
    fn record(&mut self, ids: &[u32], outputs: &mut [Generation], config: &GenerationConfig) {
        for (row, &id) in self.rows.iter_mut().zip(ids) {
            if row.finished {
                continue;
            }
            let out = &mut outputs[row.request];
            out.token_ids.push(id);
            if config.stop_ids.contains(&id) {
                out.finish = FinishReason::Stop;
                row.finished = true;
            } else if out.token_ids.len() >= row.limit {
                row.finished = true;
            }
        }
    }

    /// One decoding step over every row: each live row's last token joins its sequence (a
    /// finished row's is masked), and the new hidden states are kept for the next tokens.
    fn decode(&mut self, model: &Llama, outputs: &[Generation], pad_id: u32) -> Result<()> {
        let taken = |r: &Row| outputs[r.request].token_ids.len();
        let room = self
            .rows
            .iter()
            .filter(|r| !r.finished)
            .map(|r| r.limit - taken(r))
            .max()
            .unwrap_or(1);
        let next: Vec<u32> = self
            .rows
            .iter()
            .map(|r| {
                outputs[r.request]
                    .token_ids
                    .last()
                    .copied()
                    .unwrap_or(pad_id)
            })
            .collect();
        let real: Vec<bool> = self.rows.iter().map(|r| !r.finished).collect();
        let mut valid: Vec<Vec<bool>> = self
            .rows
            .iter_mut()
            .map(|r| std::mem::take(&mut r.valid))
            .collect();
        let hidden = decode_step(model, &mut self.cache, &mut valid, next, &real, room)?;
        for (row, v) in self.rows.iter_mut().zip(valid) {
            row.valid = v;
        }
        self.hidden = Some(hidden);
        Ok(())
    }
}

/// Puts `extra` masked positions before every row of `cache` (see [`KvCache::pad_left`]).
fn pad_left(cache: &mut KvCache, rows: &mut [Row], extra: usize) {
    if extra == 0 {
        return;
    }
    cache.pad_left(extra);
    for row in rows {
        row.valid.splice(0..0, std::iter::repeat_n(false, extra));
    }
}

/// Leading cache positions unused by every row before they are dropped (one copy of the cache).
const TRIM_AT: usize = 128;

/// Generates `samples` continuations of every prompt with at most `batching.rows` sequences
/// decoding at once, prompt-major as [`generate_samples`](super::generate_samples): a prompt
/// joins the batch (prefilled once, its cache copied to its samples) as soon as enough rows are
/// free, rather than when a whole batch has finished. Each sequence is the one
/// `generate_samples` gives on blocks of `rows / samples` prompts (see [`ContinuousBatching`])
/// up to floating-point rounding, as its tokens depend only on its own prompt and stream.
pub fn generate_continuous(
    model: &Llama,
    prompts: &[Vec<u32>],
    samples: usize,
    pad_id: u32,
    config: &GenerationConfig,
    batching: ContinuousBatching,
) -> Result<Vec<Generation>> {
    check_request(model, prompts, samples, config)?;
    let mut outputs: Vec<Generation> = (0..prompts.len() * samples)
        .map(|_| Generation {
            token_ids: Vec::new(),
            finish: FinishReason::Length,
        })
        .collect();
    if config.max_new_tokens == 0 || prompts.is_empty() {
        return Ok(outputs);
    }
    let block = batching.stream_block(samples);
    let mut rngs: Vec<StdRng> = (0..prompts.len() * samples)
        .map(|request| {
            let (prompt, sample) = (request / samples, request % samples);
            let start = prompt - prompt % block;
            let seed = config.seed.wrapping_add((start * samples) as u64);
            sequence_rng(seed, (prompt - start) * samples + sample)
        })
        .collect();
    let mut batch = Batch::empty(model);
    let mut waiting = 0..prompts.len();
    loop {
        let live = batch.live();
        let free = batching.rows.saturating_sub(live);
        if !waiting.is_empty() && (live == 0 || free >= batching.admit_at(samples)) {
            batch.drop_finished(model);
            let take = (free / samples).clamp(1, waiting.len());
            let group: Vec<usize> = waiting.by_ref().take(take).collect();
            admit(model, &mut batch, prompts, &group, samples, pad_id, config)?;
            batch.trim();
        }
        let Some(hidden) = batch.hidden.take() else {
            break;
        };
        let ids = batch.next_tokens(model, hidden, &mut rngs, config, pad_id)?;
        batch.record(&ids, &mut outputs, config);
        if batch.live() == 0 {
            batch = Batch::empty(model);
            if waiting.is_empty() {
                break;
            }
            continue;
        }
        // Finished rows stay (their tokens ignored) until enough have gathered to be worth a
        // copy of the cache, or prompts are waiting for their rows.
        if (batch.rows.len() - batch.live()) * 4 >= batch.rows.len() {
            batch.drop_finished(model);
        }
        batch.decode(model, &outputs, pad_id)?;
    }
    Ok(outputs)
}

/// Prefills the prompts `group` (indices into `prompts`) with `samples` rows each and joins
/// them to `batch`.
fn admit(
    model: &Llama,
    batch: &mut Batch,
    prompts: &[Vec<u32>],
    group: &[usize],
    samples: usize,
    pad_id: u32,
    config: &GenerationConfig,
) -> Result<()> {
    let chosen: Vec<Vec<u32>> = group.iter().map(|&p| prompts[p].clone()).collect();
    let mut cache = model.new_cache();
    let (hidden, valid) = prefill_rows(model, &chosen, samples, pad_id, &mut cache)?;
    let rows = valid
        .into_iter()
        .enumerate()
        .map(|(i, valid)| {
            let prompt = group[i / samples];
            Row {
                request: prompt * samples + i % samples,
                valid,
                limit: token_limit(model, &prompts[prompt], config),
                finished: false,
            }
        })
        .collect();
    batch.join(cache, hidden, rows);
    Ok(())
}
