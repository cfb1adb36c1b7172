//! Where the self-judging stage's judge comes from: [`ConfiguredJudges`] builds the one the
//! `[judge]` section names; a caller may pass any other [`JudgeSource`] — a reward model, an
//! ensemble, a rubric of their own — without touching the driver.

use srlm_judge::{ExpectedScoreJudge, Judge, SamplingJudge, SCORE_PREFIX};
use srlm_model::burn::tensor::Device;
use srlm_model::LanguageModel;

use crate::config::{GeneratorSpec, JudgeMethod, JudgeSection};
use crate::error::{LoopError, Result};
use crate::generator::{GeneratorSource, Role};

/// Hands out the judge of an iteration's self-judging stage.
///
/// The driver calls [`Judge::reseed`] with the unit's seed before each unit of work, so a
/// sampling judge's judgements depend on (run seed, iteration, unit) only.
pub trait JudgeSource {
    /// The judge of iteration `iteration`, configured by `config`; `current` is that
    /// iteration's model Mt, and `generators` the run's generator source (a judge that samples
    /// text asks it for the [`Role::Judge`] generator).
    fn judge<'a>(
        &'a mut self,
        iteration: usize,
        config: &JudgeSection,
        current: &'a LanguageModel,
        generators: &'a mut dyn GeneratorSource,
    ) -> Result<Box<dyn Judge + 'a>>;
}

/// The judge the configuration names: the paper's sampling judge (`judge.samples` samples per
/// response at `judge.temperature`/`top_p`, the `judge.template` prompt and `judge.score_pattern`)
/// over the generator `judge.generator` names; or, with `judge.method = "expected"`, the
/// expected-score judge over Mt or the local model `judge.generator` names.
#[derive(Debug)]
pub struct ConfiguredJudges {
    /// Device of a judge model loaded from a path.
    pub device: Device,
    /// Sequences per forward pass of a local judge model.
    pub batch: usize,
    loaded: Option<LanguageModel>,
}

impl ConfiguredJudges {
    /// Judges built on `device`, `batch` sequences per forward pass.
    pub fn new(device: Device, batch: usize) -> Self {
        ConfiguredJudges {
            device,
            batch,
            loaded: None,
        }
    }
}

impl JudgeSource for ConfiguredJudges {
    fn judge<'a>(
        &'a mut self,
        iteration: usize,
        config: &JudgeSection,
        current: &'a LanguageModel,
        generators: &'a mut dyn GeneratorSource,
    ) -> Result<Box<dyn Judge + 'a>> {
        let template = config.judge_template()?;
        match config.method {
            JudgeMethod::Sampling => {
                let spec = config.generator.at(iteration);
                let generator = generators.generator(Role::Judge, &spec, current)?;
                Ok(Box::new(
                    SamplingJudge::new(generator)
                        .with_template(template)
                        .with_parser(config.score_parser()?)
                        .with_samples(config.samples)
                        .with_params(srlm_generation::GenerationConfig::sampled(
                            config.temperature,
                            config.top_p,
                            config.max_tokens,
                        )),
                ))
            }
            JudgeMethod::Expected => {
                let model = match &config.generator {
                    GeneratorSpec::Current => current,
                    GeneratorSpec::Local { path } => {
                        &*self
                            .loaded
                            .insert(LanguageModel::load(path, &self.device)?)
                    }
                    GeneratorSpec::OpenAi(_) => {
                        return Err(LoopError::Config {
                            path: None,
                            reason: "judge.method = \"expected\" reads a local model's digit probabilities: judge.generator must be the current model or a local path".into(),
                        })
                    }
                };
                Ok(Box::new(
                    ExpectedScoreJudge::with_template(model, template, SCORE_PREFIX, self.batch)?
                        .with_justification_tokens(config.max_tokens),
                ))
            }
        }
    }
}
