//! [`JudgeTemplate`]: the LLM-as-a-judge prompt, rendered with minijinja from `{{ prompt }}`
//! and `{{ response }}`.

use minijinja::{context, Environment, Value};

use crate::error::{JudgeError, Result};

/// The additive 5-point judge prompt of Yuan et al. (2024), Figure 2, with the figure's
/// placeholders replaced by `{{ prompt }}` and `{{ response }}`.
pub const PAPER_TEMPLATE: &str = include_str!("../templates/additive-5-point.jinja");

/// One compiled minijinja template: values are inserted as they are (no HTML escaping, never
/// re-read as template text), trailing newlines kept, rendering fuel-limited.
#[derive(Debug)]
pub(crate) struct Template {
    env: Environment<'static>,
    name: &'static str,
    source: String,
}

impl Template {
    pub(crate) fn new(name: &'static str, source: &str) -> Result<Self> {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        env.set_fuel(Some(10_000_000));
        env.add_template_owned(name, source.to_string())
            .map_err(|e| JudgeError::Template(e.to_string()))?;
        Ok(Template {
            env,
            name,
            source: source.to_string(),
        })
    }

    pub(crate) fn render(&self, values: Value) -> Result<String> {
        self.env
            .get_template(self.name)
            .and_then(|t| t.render(values))
            .map_err(|e| JudgeError::Template(e.to_string()))
    }
}

/// A compiled judge prompt template.
#[derive(Debug)]
pub struct JudgeTemplate {
    inner: Template,
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
        Ok(JudgeTemplate {
            inner: Template::new("judge", source)?,
        })
    }

    /// The template's source text.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The judge prompt for one (prompt, response) pair.
    pub fn render(&self, prompt: &str, response: &str) -> Result<String> {
        self.inner
            .render(context! { prompt => prompt, response => response })
    }
}

impl Default for JudgeTemplate {
    fn default() -> Self {
        Self::paper()
    }
}
