//! Where the loop's text generators come from: [`SpecGenerators`] builds them from the
//! configuration (the current model, another local model, or an OpenAI-compatible server); a
//! caller may pass any other [`GeneratorSource`] (a pool of servers, a scripted one in tests).

use srlm_generation::TextGenerator;
use srlm_judge::{Endpoint, HttpConfig, HttpSettings, OpenAiGenerator};
use srlm_model::burn::tensor::Device;
use srlm_model::{LanguageModel, LocalGenerator, OwnedLocalGenerator};

use crate::config::{Follows, GeneratorSpec, ServedModel};
use crate::error::Result;

/// What a generator is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Write new prompts (few-shot).
    Instruct,
    /// Answer prompts.
    Candidates,
    /// Judge answers.
    Judge,
}

/// Hands out a text generator for a stage.
pub trait GeneratorSource {
    /// The generator for `role`, configured by `spec`; `current` is the iteration's model Mt.
    fn generator<'a>(
        &'a mut self,
        role: Role,
        spec: &GeneratorSpec,
        current: &'a LanguageModel,
    ) -> Result<Box<dyn TextGenerator + 'a>>;
}

/// Generators as the configuration says.
#[derive(Debug, Clone)]
pub struct SpecGenerators {
    /// Device for other local models.
    pub device: Device,
    /// Sequences per forward pass of a local model.
    pub batch: usize,
    /// How requests to servers go out.
    pub http: HttpSettings,
}

impl SpecGenerators {
    /// Makes a client for every server the roles name (reading its API key, checking its URL)
    /// and runs the [preflight](OpenAiGenerator::preflight) of those that serve a fixed model,
    /// so a wrong URL, model name or key stops the run before its first stage. A server that
    /// follows Mt is checked before each iteration instead (its model changes with `t`).
    pub fn preflight(&self, specs: &[&GeneratorSpec]) -> Result<()> {
        let mut checked: Vec<&ServedModel> = Vec::new();
        for spec in specs {
            if let GeneratorSpec::OpenAi(served) = spec {
                if checked.contains(&served) {
                    continue;
                }
                checked.push(served);
                let client = self.client(&served.endpoint(0))?;
                if served.follows == Follows::Fixed {
                    client.preflight()?;
                }
            }
        }
        Ok(())
    }

    /// A generator that owns what it runs on: the local model `spec` names, loaded on
    /// `device`, or a client of the server it names; `None` for [`GeneratorSpec::Current`],
    /// which runs on the caller's model. A served model name is used as it stands: pass
    /// [`GeneratorSpec::at`] the iteration first.
    pub fn standalone(&self, spec: &GeneratorSpec) -> Result<Option<Box<dyn TextGenerator>>> {
        Ok(match spec {
            GeneratorSpec::Current => None,
            GeneratorSpec::Local { path } => Some(Box::new(OwnedLocalGenerator {
                model: LanguageModel::load(path, &self.device)?,
                batch_size: self.batch,
            })),
            GeneratorSpec::OpenAi(served) => Some(Box::new(self.client(&Endpoint {
                base_url: served.base_url.clone(),
                model: served.model.clone(),
            })?)),
        })
    }

    /// A client of `endpoint` with the run's HTTP settings.
    pub fn client(&self, endpoint: &Endpoint) -> Result<OpenAiGenerator> {
        Ok(OpenAiGenerator::new(HttpConfig {
            endpoint: endpoint.clone(),
            settings: self.http.clone(),
        })?)
    }
}

impl GeneratorSource for SpecGenerators {
    fn generator<'a>(
        &'a mut self,
        _role: Role,
        spec: &GeneratorSpec,
        current: &'a LanguageModel,
    ) -> Result<Box<dyn TextGenerator + 'a>> {
        Ok(match self.standalone(spec)? {
            Some(generator) => generator,
            None => Box::new(LocalGenerator::new(current, self.batch)),
        })
    }
}
