//! Where the evaluation's judges come from: [`ConfiguredEvalJudges`] builds the ones
//! [`EvalOptions`] name (each model judging held-out responses itself with the paper's prompt;
//! one fixed head-to-head judge); a caller may pass any other [`EvalJudges`].

use std::path::PathBuf;

use srlm_generation::{GenerationConfig, TextGenerator};
use srlm_judge::{CompletionJournal, JournaledGenerator, Judge, SamplingJudge};
use srlm_loop::{GeneratorSpec, SpecGenerators};
use srlm_model::burn::tensor::Device;
use srlm_model::{LanguageModel, LocalGenerator, OwnedLocalGenerator};

use crate::error::{EvalError, Result};
use crate::options::{EvalOptions, PairJudge};

/// Hands out the evaluation's judges.
pub trait EvalJudges {
    /// The judge that scores held-out responses for a model's judge quality; `model` is that
    /// model, loaded (the paper measures each model judging), and `key` names its journals: the
    /// model's name and its fingerprint ([`journal_key`]).
    fn quality_judge<'a>(
        &'a mut self,
        key: &str,
        model: &'a LanguageModel,
        options: &EvalOptions,
    ) -> Result<Box<dyn Judge + 'a>>;

    /// The one head-to-head judge of every comparison; `models` are the evaluated models, in
    /// order.
    fn pair_judge(
        &mut self,
        models: &[(String, PathBuf)],
        options: &EvalOptions,
    ) -> Result<HeadToHeadJudge>;
}

/// The head-to-head judge [`EvalJudges::pair_judge`] hands out.
pub struct HeadToHeadJudge {
    /// The name the report gives it.
    pub name: String,
    /// What names its journals: for a local model, its name and fingerprint ([`journal_key`]),
    /// so verdicts are never reused for other weights under the same name.
    pub journal_key: String,
    /// The judge.
    pub generator: Box<dyn TextGenerator>,
}

/// The judges [`EvalOptions`] name: each model's own sampling judge
/// ([`EvalOptions::judge_settings`]) for judge quality, and `pair_judge` for the head-to-heads — an evaluated
/// model by name (default `M1`), another local model, or an OpenAI-compatible server — loaded
/// on `device`.
#[derive(Debug, Clone)]
pub struct ConfiguredEvalJudges {
    /// Device of local judge models.
    pub device: Device,
}

impl EvalJudges for ConfiguredEvalJudges {
    fn quality_judge<'a>(
        &'a mut self,
        key: &str,
        model: &'a LanguageModel,
        options: &EvalOptions,
    ) -> Result<Box<dyn Judge + 'a>> {
        let local = LocalGenerator::new(model, options.generation_batch());
        let generator = journaled(Box::new(local), options, &format!("{key}-judging"))?;
        Ok(Box::new(sampling_judge(generator, options)?))
    }

    fn pair_judge(
        &mut self,
        models: &[(String, PathBuf)],
        options: &EvalOptions,
    ) -> Result<HeadToHeadJudge> {
        let (name, spec) = match &options.pair_judge {
            PairJudge::Evaluated(wanted) => {
                let found = models.iter().find(|(n, _)| n == wanted);
                // Only the default name falls back (to the first model after the baseline, named
                // in the report); a name the caller chose must exist.
                if found.is_none() && *wanted != PairJudge::default_name() {
                    let names: Vec<&str> = models.iter().map(|(n, _)| n.as_str()).collect();
                    return Err(EvalError::Input(format!(
                        "the head-to-head judge `{wanted}` is not an evaluated model (they are: {})",
                        names.join(", ")
                    )));
                }
                let (name, path) = found
                    .or_else(|| models.get(usize::from(options.baseline)))
                    .or_else(|| models.first())
                    .ok_or_else(|| EvalError::Input("no model".into()))?;
                (name.clone(), GeneratorSpec::Local { path: path.clone() })
            }
            PairJudge::External(GeneratorSpec::Current) => {
                return Err(EvalError::Input(
                    "the head-to-head judge must be fixed: name an evaluated model, a model file or a server, not `current`".into(),
                ))
            }
            PairJudge::External(spec @ GeneratorSpec::Local { path }) => {
                (path.display().to_string(), spec.clone())
            }
            PairJudge::External(spec @ GeneratorSpec::OpenAi(served)) => {
                (served.model.clone(), spec.clone())
            }
        };
        if let GeneratorSpec::Local { path } = &spec {
            let model = LanguageModel::load(path, &self.device)?;
            return Ok(HeadToHeadJudge {
                journal_key: journal_key(&name, &model, options)?,
                name,
                generator: Box::new(OwnedLocalGenerator {
                    model,
                    batch_size: options.generation_batch(),
                }),
            });
        }
        let generators = SpecGenerators {
            device: self.device.clone(),
            batch: options.generation_batch(),
            http: options.http.clone(),
        };
        generators.preflight(&[&spec])?;
        let generator = generators
            .standalone(&spec)?
            .ok_or_else(|| EvalError::Input("the head-to-head judge is not a model".into()))?;
        Ok(HeadToHeadJudge {
            journal_key: name.clone(),
            name,
            generator,
        })
    }
}

/// The sampling judge over `generator` that [`EvalOptions::judge_settings`] describe (the
/// loop's: judge prompt, score pattern, samples, temperature, top-p, token limit), seeded by
/// `options.seed`.
pub(crate) fn sampling_judge<'a>(
    generator: Box<dyn TextGenerator + 'a>,
    options: &EvalOptions,
) -> Result<SamplingJudge<Box<dyn TextGenerator + 'a>>> {
    let judge = options.judge_settings();
    Ok(SamplingJudge::new(generator)
        .with_template(judge.judge_template()?)
        .with_parser(judge.score_parser()?)
        .with_samples(judge.samples)
        .with_params(
            GenerationConfig::sampled(judge.temperature, judge.top_p, judge.max_tokens)
                .with_seed(options.seed),
        ))
}

/// What names model `name`'s journals: `NAME-FINGERPRINT` (the first 16 hex digits of
/// [`LanguageModel::fingerprint`]) when `options.journal` is set, so a journal is never reused
/// for other weights under the same name; `name` alone when nothing is journaled.
pub fn journal_key(name: &str, model: &LanguageModel, options: &EvalOptions) -> Result<String> {
    if options.journal.is_none() {
        return Ok(name.to_string());
    }
    let fingerprint = model.fingerprint()?;
    Ok(format!("{name}-{}", &fingerprint[..16]))
}

/// `generator`, journaled under `options.journal/NAME.jsonl` when a journal folder is set.
pub(crate) fn journaled<'a>(
    generator: Box<dyn TextGenerator + 'a>,
    options: &EvalOptions,
    name: &str,
) -> Result<Box<dyn TextGenerator + 'a>> {
    let Some(dir) = &options.journal else {
        return Ok(generator);
    };
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let journal = CompletionJournal::open(&dir.join(format!("{file}.jsonl")))?;
    if !journal.is_empty() {
        tracing::info!(
            journal = name,
            completions = journal.len(),
            "resuming from the journal"
        );
    }
    Ok(Box::new(JournaledGenerator::new(
        generator,
        journal,
        options.generation_batch(),
    )))
}
