//! The training recipes the CLI and the self-rewarding loop both run, as library functions:
//!
//! - [`sft_objective`]: IFT + EFT records laid out by an [`Encoder`] (chat template, response
//!   mask, the judge template for EFT prompts), an error when nothing fits.
//! - [`Reference`]: a frozen reference model, its weights hashed once; its DPO objectives take
//!   their reference log-probs from the on-disk cache when the same weights already scored the
//!   same pairs ([`cached_reference_logps`]), so the reference need not stay loaded.
//! - [`fine_tune`]: any [`Objective`] trained on a [`LanguageModel`] in an output folder
//!   (resuming there), returned as a [`LanguageModel`] again, tokenizer and template kept.

use std::ops::ControlFlow;
use std::path::Path;

use srlm_data::{EftRecord, EncodeReport, Encoder, IftRecord, PreferenceRecord};
use srlm_model::burn::module::Module;
use srlm_model::LanguageModel;

use crate::error::{Result, TrainError};
use crate::loss::DpoConfig;
use crate::objective::{DpoObjective, Objective, SftObjective};
use crate::reference::{
    cached_reference_logps, compute_reference_logps, data_hash, weights_hash, CacheOutcome,
};
use crate::trainer::{train, StepMetrics, TrainConfig};

/// A model trained by [`fine_tune`].
#[derive(Debug)]
pub struct FineTuned<M> {
    /// The trained model, for inference, with the tokenizer and chat template it started with.
    pub model: LanguageModel,
    /// The metrics of the steps this invocation took (a resumed run's earlier steps are in
    /// `metrics.jsonl`).
    pub steps: Vec<StepMetrics<M>>,
    /// Optimizer steps done in total.
    pub total_steps: usize,
    /// The step this invocation resumed from (0 for a fresh run).
    pub resumed_from: usize,
    /// Whether `on_step` stopped the run before its end.
    pub stopped: bool,
}

/// The folder of `fine_tune`'s output where a LoRA run leaves its adapters in PEFT's format.
pub const ADAPTER_DIR: &str = "adapter";

/// Trains `lm` on `objective` in `out_dir` (`metrics.jsonl`, `checkpoints/`; resuming from the
/// newest checkpoint there); `on_step` sees every step and may stop the run. With
/// `config.lora`, the returned model is `lm` with the trained adapters merged in, and the
/// adapters are also written to `out_dir/adapter/` in PEFT's format.
///
/// `lm` is taken: when every weight trains and nothing else holds them, its weights are updated
/// in place. Pass `lm.clone()` to keep yours — the clone shares the weights, so keeping them
/// costs a second copy of every trained weight from the first update on (4 bytes a parameter).
///
/// One DPO step of a model against itself, and one SimPO step without a reference:
///
/// ```
/// use std::ops::ControlFlow;
/// use srlm_data::{Encoder, PreferenceRecord};
/// use srlm_dpo::{fine_tune, DpoConfig, Reference, SimpoConfig, SimpoObjective, TrainConfig};
/// use srlm_model::{parse_device, GenerationConfig, LanguageModel};
///
/// # let tiny = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama3");
/// let mt = LanguageModel::load(&tiny, &parse_device("cpu")?)?;
/// let pairs: Vec<PreferenceRecord> = (1..=4)
///     .map(|i| PreferenceRecord::new(format!("Count to {i}."), format!("1 … {i}, done."), "No."))
///     .collect();
/// let encoder = Encoder::new(&mt, 256)?;
/// let config = TrainConfig { max_steps: Some(1), batch_size: 4, dropout: 0.0, ..TrainConfig::paper_dpo() };
/// # let scratch = std::env::temp_dir().join(format!("srlm-dpo-doc-{}", std::process::id()));
///
/// // DPO: the reference's log-probs computed once (and cached in the folder given).
/// let set = Reference::new(&mt)?.dpo_objective(&encoder, &pairs, DpoConfig::default(), 4096, None)?;
/// let m2 = fine_tune(mt.clone(), &set.objective, &config, &scratch.join("dpo"), &mut |_| ControlFlow::Continue(()))?;
/// let step = &m2.steps[0];
/// assert!((step.loss - std::f64::consts::LN_2).abs() < 1e-4); // policy = reference: ln 2
/// assert!(step.objective.rewards_margins.abs() < 1e-4); // no margin yet
///
/// // SimPO: no reference model at all.
/// let (encoded, _) = encoder.preference_set(&pairs)?;
/// let simpo = SimpoObjective::simpo(encoded, SimpoConfig::default(), mt.pad_id)?;
/// let m2 = fine_tune(mt.clone(), &simpo, &config, &scratch.join("simpo"), &mut |_| ControlFlow::Continue(()))?;
/// assert!(m2.steps[0].objective.nll_loss > 0.0);
/// // A LanguageModel again, tokenizer and chat template kept: it answers text with text.
/// let answer = m2.model.complete(&["Count to 2.".into()], 1, &GenerationConfig::greedy(4), 1)?;
/// assert_eq!(answer[0].len(), 1);
/// # std::fs::remove_dir_all(&scratch)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fine_tune<O: Objective>(
    lm: LanguageModel,
    objective: &O,
    config: &TrainConfig,
    out_dir: &Path,
    on_step: &mut dyn FnMut(&StepMetrics<O::Metrics>) -> ControlFlow<()>,
) -> Result<FineTuned<O::Metrics>> {
    let LanguageModel {
        model,
        config: model_config,
        tokenizer,
        tokenizer_config,
        ..
    } = lm;
    let mut steps = Vec::new();
    let outcome = train(
        model,
        &model_config,
        objective,
        None,
        config,
        out_dir,
        &mut |m| {
            steps.push(m.clone());
            on_step(m)
        },
    )?;
    let trained = outcome.model.valid();
    if let Some(lora) = &config.lora {
        let dir = out_dir.join(ADAPTER_DIR);
        srlm_model::lora::peft::save_adapter(&dir, &trained, lora, None)?;
    }
    let model = LanguageModel::from_parts(
        trained.merge_lora(),
        model_config,
        tokenizer,
        tokenizer_config,
    )?;
    Ok(FineTuned {
        model,
        steps,
        total_steps: outcome.steps,
        resumed_from: outcome.resumed_from,
        stopped: outcome.stopped,
    })
}

/// The SFT objective of IFT + EFT records laid out by `encoder`, and how encoding went;
/// [`TrainError::NothingFits`] when no example fits the encoder's maximum length.
pub fn sft_objective(
    encoder: &Encoder<'_>,
    ift: &[IftRecord],
    eft: &[EftRecord],
) -> Result<(SftObjective, EncodeReport)> {
    let (examples, report) = encoder.sft_set(ift, eft)?;
    if examples.is_empty() {
        return Err(TrainError::NothingFits {
            what: "example",
            max_len: encoder.max_len(),
        });
    }
    let objective = SftObjective {
        examples,
        pad_id: encoder.pad_id(),
    };
    Ok((objective, report))
}

/// A frozen reference model for DPO, its weights hashed once.
#[derive(Debug)]
pub struct Reference<'m> {
    model: &'m LanguageModel,
    weights_hash: String,
}

/// Text both tokenizers must encode alike: words, digits, punctuation, accents, a dash.
const TOKENIZER_PROBE: &str =
    "The quick brown fox jumps over the lazy dog: 0123456789, \"caf\u{e9} \u{c6}\u{d8}\u{c5}\" \u{2014} (ok)!\n\tEnd.";

/// Refuses a reference whose tokenizer is not the policy's: its log-probs of the policy's token
/// ids would score other text, and DPO would train on the difference of unrelated numbers.
fn same_tokenizer(policy: &LanguageModel, reference: &LanguageModel) -> Result<()> {
    let (p, r) = (&policy.tokenizer, &reference.tokenizer);
    let (p_ids, r_ids) = (
        p.encode(TOKENIZER_PROBE, false)?,
        r.encode(TOKENIZER_PROBE, false)?,
    );
    if p.vocab_size() != r.vocab_size() || p_ids != r_ids {
        return Err(TrainError::Config(format!(
            "the reference model's tokenizer is not the policy's ({} and {} ids; {} and {} tokens \
             for the same probe text): its log-probs of the policy's tokens would be meaningless",
            p.vocab_size(),
            r.vocab_size(),
            p_ids.len(),
            r_ids.len()
        )));
    }
    Ok(())
}

impl<'m> Reference<'m> {
    /// Hashes `model`'s weights (the reference cache's key).
    pub fn new(model: &'m LanguageModel) -> Result<Self> {
        Ok(Reference {
            weights_hash: weights_hash(&model.model)?,
            model,
        })
    }

    /// SHA-256 of the reference's weights.
    pub fn weights_hash(&self) -> &str {
        &self.weights_hash
    }

    /// The DPO objective of `records` laid out by `encoder` (the policy's), with `loss`; the
    /// reference log-probs read from `cache_dir` when there, else computed in micro-batches of
    /// `micro_batch_tokens` (and written there). [`TrainError::NothingFits`] when no pair fits
    /// the encoder's maximum length.
    pub fn dpo_objective(
        &self,
        encoder: &Encoder<'_>,
        records: &[PreferenceRecord],
        loss: DpoConfig,
        micro_batch_tokens: usize,
        cache_dir: Option<&Path>,
    ) -> Result<ReferenceObjective> {
        same_tokenizer(encoder.model(), self.model)?;
        let (pairs, encoding) = encoder.preference_set(records)?;
        if pairs.is_empty() {
            return Err(TrainError::NothingFits {
                what: "pair",
                max_len: encoder.max_len(),
            });
        }
        let (logps, cache) = cached_reference_logps(
            cache_dir,
            &self.weights_hash,
            &data_hash(&pairs),
            pairs.len(),
            || {
                compute_reference_logps(
                    &self.model.model,
                    &pairs,
                    self.model.pad_id,
                    micro_batch_tokens,
                )
            },
        )?;
        Ok(ReferenceObjective {
            objective: DpoObjective::new(pairs, logps, loss, encoder.pad_id())?,
            encoding,
            cache,
        })
    }
}

/// A DPO objective made by [`Reference::dpo_objective`].
#[derive(Debug)]
pub struct ReferenceObjective {
    /// The objective.
    pub objective: DpoObjective,
    /// How encoding the records went.
    pub encoding: EncodeReport,
    /// Whether the reference log-probs came from the cache.
    pub cache: CacheOutcome,
}
