//! Served roles that follow Mt: before an iteration's stages use a server, the server must
//! serve the iteration's model. Checked by the name it lists and by greedy probe answers
//! compared with the local Mt's and M(t−1)'s (`probes.rs`); switched by `[serve]
//! on_new_model` when set.

use std::time::{Duration, Instant};

use srlm_generation::{GenerationConfig, TextGenerator};
use srlm_judge::{Endpoint, OpenAiGenerator};
use srlm_model::{LanguageModel, LocalGenerator};

use super::probes::{identity, Identity, ProbeAnswers};
use super::SelfRewardingRun;
use crate::config::{JudgeMethod, PromptSource};
use crate::error::{LoopError, Result};
use crate::generator::SpecGenerators;

/// A served role of iteration t: its name in messages, its endpoint for t, and the model name
/// it had in t − 1.
pub(super) struct ServedRole {
    pub(super) role: &'static str,
    pub(super) endpoint: Endpoint,
    pub(super) previous_name: Option<String>,
}

impl SelfRewardingRun {
    /// Before iteration `t`'s stages: every served role that follows Mt and has work left in
    /// `t` must serve Mt. A server that does not is switched by `[serve] on_new_model` (then
    /// waited for and checked again), or stops the run before the stage, saying how to fix it.
    pub(super) fn follow_current(&self, t: usize, mt: &LanguageModel) -> Result<()> {
        let roles = self.served_roles(t);
        if roles.is_empty() {
            return Ok(());
        }
        let generators = &SpecGenerators {
            device: self.device()?,
            batch: self.config.run.generation_batch,
            http: self.config.http.clone(),
        };
        let probes = self.probe_answers(t, mt)?;
        let previous = self.previous_probe_answers(t)?;
        let mut checked: Vec<Endpoint> = Vec::new();
        for served in &roles {
            if checked.contains(&served.endpoint) {
                continue;
            }
            checked.push(served.endpoint.clone());
            let mut client = generators.client(&served.endpoint)?;
            let first = self.check_served(t, served, &mut client, &probes, &previous);
            let Err(found) = first else {
                continue;
            };
            let switched = if self.config.serve.load_adapters {
                tracing::info!(iteration = t, role = served.role, url = %served.endpoint.base_url, %found, "loading Mt's adapter on the server");
                self.load_served_adapter(t, served, &client)?
            } else if let Some(command) = &self.config.serve.on_new_model {
                tracing::info!(iteration = t, role = served.role, url = %served.endpoint.base_url, %found, "switching the server to Mt");
                self.run_hook(t, command, served)?;
                format!("serve.on_new_model (`{command}`) ran")
            } else {
                return Err(self.not_mt(t, served, &found, None));
            };
            self.wait_for_name(served, &mut client)?;
            if let Err(found) = self.check_served(t, served, &mut client, &probes, &previous) {
                return Err(self.not_mt(t, served, &found, Some(&switched)));
            }
        }
        Ok(())
    }

    /// At start, before any stage: every server of a role that follows Mt answers (its model
    /// list, or a 404 for a server without one), unless `[serve] on_new_model` is set (the hook
    /// may start the server later). Its model is checked before each iteration.
    pub(super) fn reach_current_servers(&self, generators: &SpecGenerators) -> Result<()> {
        if self.config.serve.on_new_model.is_some() {
            return Ok(());
        }
        for (_, spec) in self.config.role_generators() {
            if let Some(served) = spec.follows_current() {
                generators.client(&served.endpoint(0))?.list_models()?;
            }
        }
        Ok(())
    }

    /// The roles of iteration `t` served by a server that follows Mt and whose stage has not
    /// finished.
    fn served_roles(&self, t: usize) -> Vec<ServedRole> {
        let c = &self.config;
        let pending = |name: &str| !self.dir.iteration(t, name).exists();
        let mut roles = Vec::new();
        let mut add = |role, spec: &crate::GeneratorSpec, pending: bool| {
            if let Some(served) = spec.follows_current().filter(|_| pending) {
                roles.push(ServedRole {
                    role,
                    endpoint: served.endpoint(t),
                    previous_name: (t > 1).then(|| served.endpoint(t - 1).model),
                });
            }
        };
        add(
            "instruct",
            &c.instruct.generator,
            c.instruct.source == PromptSource::SelfInstruct && pending("prompts.jsonl"),
        );
        add(
            "candidates",
            &c.candidates.generator,
            pending("candidates.jsonl"),
        );
        add(
            "judge",
            &c.judge.generator,
            c.judge.method == JudgeMethod::Sampling && pending("judgements.jsonl"),
        );
        roles
    }

    /// `model`'s probe answers, `label` naming it in the record.
    fn local_probe_answers(&self, model: &LanguageModel, label: String) -> Result<ProbeAnswers> {
        let mut local = LocalGenerator::new(model, self.config.run.generation_batch);
        ProbeAnswers::of(
            &mut local,
            label,
            self.config.serve.probe_tokens,
            self.config.run.seed,
        )
    }

    /// Mt's probe answers, kept in `iterT/probes.json` (the next iteration compares with them).
    fn probe_answers(&self, t: usize, mt: &LanguageModel) -> Result<ProbeAnswers> {
        let path = self.dir.iteration(t, "probes.json");
        if let Some(saved) = ProbeAnswers::read(&path, self.config.serve.probe_tokens)? {
            return Ok(saved);
        }
        let answers = self.local_probe_answers(mt, self.dir.model(t).display().to_string())?;
        let text = serde_json::to_string_pretty(&answers).map_err(|e| LoopError::Corrupt {
            path: path.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        self.dir.write_text(&path, &text)?;
        Ok(answers)
    }

    /// M(t−1)'s probe answers: the previous iteration's file, or the model itself (M0 for
    /// t = 1), loaded for them.
    fn previous_probe_answers(&self, t: usize) -> Result<ProbeAnswers> {
        if t > 1 {
            let path = self.dir.iteration(t - 1, "probes.json");
            if let Some(saved) = ProbeAnswers::read(&path, self.config.serve.probe_tokens)? {
                return Ok(saved);
            }
        }
        let model = self.load_model(t - 1)?;
        self.local_probe_answers(&model, self.model_path(t - 1).display().to_string())
    }

    /// `Ok` when the server serves Mt (logged with how it was told); `Err` says what it serves.
    fn check_served(
        &self,
        t: usize,
        served: &ServedRole,
        client: &mut OpenAiGenerator,
        mt: &ProbeAnswers,
        previous: &ProbeAnswers,
    ) -> std::result::Result<(), String> {
        let name = &served.endpoint.model;
        // A server that lists no models (no route, or none: `transformers serve` lists no local
        // folders) is not held to the name; its probes decide.
        let listed = match client.list_models() {
            Ok(Some(names)) if !names.is_empty() && !names.iter().any(|n| n == name) => {
                return Err(format!("lists {names:?}, not `{name}`"));
            }
            Ok(listed) => listed.is_some_and(|names| !names.is_empty()),
            Err(e) => return Err(format!("does not answer ({e})")),
        };
        let tokens = self.config.serve.probe_tokens;
        let answers = ProbeAnswers::of(client, String::new(), tokens, self.config.run.seed)
            .map_err(|e| format!("fails the probe completions ({e})"))?
            .answers;
        let how = match identity(&answers, mt, previous) {
            Identity::Same => "its probe answers are Mt's".to_string(),
            Identity::Closer { mt, previous } => format!(
                "its probe answers are closer to Mt's than to M{}'s ({mt} against {previous} characters in common)",
                t - 1
            ),
            Identity::Undecided if listed => format!(
                "it lists `{name}`; the probes cannot tell Mt from M{} (they answer them alike)",
                t - 1
            ),
            Identity::Undecided => {
                tracing::warn!(
                    iteration = t,
                    role = served.role,
                    url = %served.endpoint.base_url,
                    model = %name,
                    "identity not verified: the server lists no models and the probes cannot tell Mt from M{} (they answer them alike); raise serve.probe_tokens to compare longer answers",
                    t - 1
                );
                return Ok(());
            }
            Identity::Other { mt, previous } => {
                return Err(if previous > mt {
                    format!("answers the probes as M{} does ({previous} characters in common with M{}'s answers, {mt} with Mt's)", t - 1, t - 1)
                } else {
                    format!("answers the probes as neither Mt nor M{} does ({mt} and {previous} characters in common)", t - 1)
                })
            }
        };
        tracing::info!(iteration = t, role = served.role, url = %served.endpoint.base_url, model = %name, "identity checked: {how}");
        Ok(())
    }

    fn run_hook(&self, t: usize, command: &str, served: &ServedRole) -> Result<()> {
        let dir = std::path::absolute(self.dir.model(t)).unwrap_or_else(|_| self.dir.model(t));
        let dir = dir.display().to_string();
        let line = command
            .replace("{dir}", &dir)
            .replace("{name}", &served.endpoint.model)
            .replace("{t}", &t.to_string())
            .replace("{url}", &served.endpoint.base_url);
        tracing::info!(iteration = t, command = %line, "running serve.on_new_model");
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env("SRLM_MODEL_DIR", &dir)
            .env("SRLM_MODEL_NAME", &served.endpoint.model)
            .env("SRLM_ITERATION", t.to_string())
            .env("SRLM_SERVER_URL", &served.endpoint.base_url)
            .output()
            .map_err(|e| {
                LoopError::Serve(format!("serve.on_new_model `{line}` did not start: {e}"))
            })?;
        let tail = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(5)..].join(" | ")
        };
        if !output.status.success() {
            return Err(LoopError::Serve(format!(
                "serve.on_new_model `{line}` failed ({}): {}",
                output.status,
                tail(&output.stderr)
            )));
        }
        tracing::info!(iteration = t, stdout = %tail(&output.stdout), "serve.on_new_model finished");
        Ok(())
    }

    /// Waits (at most `serve.wait_secs`) for the server to list the role's name, logging the
    /// wait every 15 s; a server that lists no models is waited for until it completes a
    /// one-token request.
    fn wait_for_name(&self, served: &ServedRole, client: &mut OpenAiGenerator) -> Result<()> {
        let name = &served.endpoint.model;
        let started = Instant::now();
        let limit = Duration::from_secs_f64(self.config.serve.wait_secs);
        let mut logged = Duration::ZERO;
        let one_token = GenerationConfig::greedy(1);
        loop {
            let last = match client.list_models() {
                Ok(Some(names)) if names.iter().any(|n| n == name) => return Ok(()),
                Ok(Some(names)) if !names.is_empty() => format!("it lists {names:?}"),
                Ok(_) => match client.complete(&["Hi".to_string()], 1, &one_token) {
                    Ok(_) => return Ok(()),
                    Err(e) => format!("it lists no models and does not complete ({e})"),
                },
                Err(e) => e.to_string(),
            };
            let waited = started.elapsed();
            if waited >= limit {
                return Err(LoopError::Serve(format!(
                    "{} did not list `{name}` within serve.wait_secs = {} s after the switch ({last})",
                    served.endpoint.base_url, self.config.serve.wait_secs
                )));
            }
            if waited >= logged + Duration::from_secs(15) {
                logged = waited;
                tracing::info!(url = %served.endpoint.base_url, model = %name, waited_s = waited.as_secs(), "waiting for the server");
            }
            std::thread::sleep(Duration::from_millis(500).min(limit.saturating_sub(waited)));
        }
    }

    /// `switched`: what was done to switch the server (then it still does not serve Mt).
    fn not_mt(
        &self,
        t: usize,
        served: &ServedRole,
        found: &str,
        switched: Option<&str>,
    ) -> LoopError {
        let dir = self.dir.model(t);
        let fix = match switched {
            Some(what) => format!(
                "{what}, yet the server still does not serve it: check what it serves"
            ),
            None => format!(
                "serve {} as `{}` there (or set [serve] on_new_model to a command that does), then run the same command again: the run resumes at this stage. A role meant to keep one model for the whole run says so: `follows = \"fixed\"`",
                dir.display(),
                served.endpoint.model
            ),
        };
        LoopError::Serve(format!(
            "iteration {t}, {} role: the server at {} {found}; it must serve M{t} ({}) as `{}`. {fix}",
            served.role,
            served.endpoint.base_url,
            dir.display(),
            served.endpoint.model
        ))
    }
}
