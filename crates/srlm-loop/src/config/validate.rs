//! Checking a run configuration before any stage runs: every range, every role's sampling,
//! the training and loss settings, the judge prompt rendered and the score pattern compiled.

use super::{GeneratorSpec, JudgeMethod, RunConfig};

impl RunConfig {
    /// Checks every setting; the error names the setting.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        self.http.validate().map_err(|e| e.to_string())?;
        let positive = [
            ("instruct.prompts", self.instruct.prompts),
            ("instruct.batch", self.instruct.batch),
            ("candidates.n", self.candidates.n),
            ("candidates.batch", self.candidates.batch),
            ("candidates.max_tokens", self.candidates.max_tokens),
            ("judge.samples", self.judge.samples),
            ("judge.batch", self.judge.batch),
            ("judge.max_tokens", self.judge.max_tokens),
            ("data.max_len", self.data.max_len),
            ("data.natural.max_tokens", self.data.natural.max_tokens),
            ("run.generation_batch", self.run.generation_batch),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if self.instruct.max_seed_answer_words == Some(0) {
            return Err(
                "instruct.max_seed_answer_words must be at least 1 (leave it out for no limit)"
                    .into(),
            );
        }
        if !(0.0..1.0).contains(&self.dpo.held_out_pairs) {
            return Err(format!(
                "dpo.held_out_pairs must be in [0, 1), got {}",
                self.dpo.held_out_pairs
            ));
        }
        self.data.verifiable.validate()?;
        self.validate_sampling()?;
        self.validate_serving()?;
        for (name, train) in [("sft", &self.sft), ("dpo.train", &self.dpo.train)] {
            train.validate().map_err(|e| format!("{name}: {e}"))?;
        }
        self.dpo
            .loss
            .validate()
            .map_err(|e| format!("dpo.loss: {e}"))?;
        if !(0.0..1.0).contains(&self.data.held_out_fraction) {
            return Err(format!(
                "data.held_out_fraction must be in [0, 1), got {}",
                self.data.held_out_fraction
            ));
        }
        if !(self.pairs.length_margin.is_finite() && self.pairs.length_margin >= 0.0) {
            return Err(format!(
                "pairs.length_margin must be finite and not negative, got {}",
                self.pairs.length_margin
            ));
        }
        // The judge prompt renders and the score pattern compiles before any stage runs.
        let template = self.judge.judge_template().map_err(|e| e.to_string())?;
        template
            .render("A prompt.", "A response.")
            .map_err(|e| format!("judge.template: {e}"))?;
        self.judge.score_parser().map_err(|e| e.to_string())?;
        if !(0.0..=1.0).contains(&self.instruct.instructed_share) {
            return Err(format!(
                "instruct.instructed_share must be in [0, 1], got {}",
                self.instruct.instructed_share
            ));
        }
        if self.candidates.n < 2 {
            return Err("candidates.n must be at least 2 to form a pair".into());
        }
        if self.instruct.shots_seed + self.instruct.shots_generated == 0 {
            return Err("instruct needs at least one few-shot example".into());
        }
        if self.judge.method == JudgeMethod::Expected
            && self.judge.generator != GeneratorSpec::Current
            && !matches!(self.judge.generator, GeneratorSpec::Local { .. })
        {
            return Err("judge.method = \"expected\" needs a local judge model".into());
        }
        Ok(())
    }

    /// Every role's sampling: a finite temperature, not negative, and top-p in (0, 1]. A NaN
    /// would reach a server as `null`.
    fn validate_sampling(&self) -> std::result::Result<(), String> {
        let roles = [
            ("instruct", self.instruct.temperature, self.instruct.top_p),
            (
                "candidates",
                self.candidates.temperature,
                self.candidates.top_p,
            ),
            ("judge", self.judge.temperature, self.judge.top_p),
            (
                "data.natural",
                self.data.natural.temperature,
                self.data.natural.top_p,
            ),
        ];
        for (role, temperature, top_p) in roles {
            if !(temperature.is_finite() && temperature >= 0.0) {
                return Err(format!(
                    "{role}.temperature must be finite and not negative, got {temperature}"
                ));
            }
            if !(top_p > 0.0 && top_p <= 1.0) {
                return Err(format!("{role}.top_p must be in (0, 1], got {top_p}"));
            }
        }
        Ok(())
    }
}

impl RunConfig {
    /// `[serve]` and the served roles: a wait that is a number of seconds, probes of at least
    /// one token, a command that is not empty, and no `{t}` in a fixed role's model name.
    fn validate_serving(&self) -> std::result::Result<(), String> {
        let serve = &self.serve;
        if !(serve.wait_secs.is_finite() && serve.wait_secs >= 0.0) {
            return Err(format!(
                "serve.wait_secs must be finite and not negative, got {}",
                serve.wait_secs
            ));
        }
        if serve.probe_tokens == 0 {
            return Err("serve.probe_tokens must be at least 1".into());
        }
        if serve
            .on_new_model
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            return Err("serve.on_new_model is empty (leave it out for no command)".into());
        }
        for (role, spec) in self.role_generators() {
            if let GeneratorSpec::OpenAi(served) = spec {
                if served.follows == super::Follows::Fixed && served.model.contains("{t}") {
                    return Err(format!(
                        "{role}.generator: a fixed model's name cannot name the iteration (`{}`); use follows = \"current\"",
                        served.model
                    ));
                }
            }
        }
        Ok(())
    }
}
