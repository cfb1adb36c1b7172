//! [`JudgeTemplate`]: the LLM-as-a-judge prompt, rendered with minijinja from `{{ prompt }}`
//! and `{{ response }}`.

use minijinja::{context, Environment};

use crate::error::{JudgeError, Result};

/// The additive 5-point judge prompt of Yuan et al. (2024), Figure 2, with the figure's
/// placeholders replaced by `{{ prompt }}` and `{{ response }}`.
pub const PAPER_TEMPLATE: &str = include_str!("../templates/additive-5-point.jinja");

/// A compiled judge prompt template.
#[derive(Debug)]
pub struct JudgeTemplate {
    env: Environment<'static>,
    source: String,
}

impl JudgeTemplate {
    /// The paper's prompt.
    #[allow(clippy::expect_used)]
    pub fn paper() -> Self {
        // The embedded template is a constant, compiled by the tests: this cannot fail.
        Self::new(PAPER_TEMPLATE).expect("the paper's template compiles")
    }

    /// A user-supplied template using `{{ prompt }}` and `{{ response }}`.
    pub fn new(source: &str) -> Result<Self> {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        env.set_fuel(Some(10_000_000));
        env.add_template_owned("judge", source.to_string())
            .map_err(|e| JudgeError::Template(e.to_string()))?;
        Ok(JudgeTemplate {
            env,
            source: source.to_string(),
        })
    }

    /// The template's source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The judge prompt for one (prompt, response) pair.
    pub fn render(&self, prompt: &str, response: &str) -> Result<String> {
        let template = self
            .env
            .get_template("judge")
            .map_err(|e| JudgeError::Template(e.to_string()))?;
        template
            .render(context! { prompt => prompt, response => response })
            .map_err(|e| JudgeError::Template(e.to_string()))
    }
}

impl Default for JudgeTemplate {
    fn default() -> Self {
        Self::paper()
    }
}
