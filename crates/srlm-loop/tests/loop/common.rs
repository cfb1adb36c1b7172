//! Shared helpers: fixtures, a tiny model with room for long prompts, synthetic seed data, a
//! scripted text generator, and an observer that stops a run at a chosen point.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use srlm_judge::{Completion, GenerationConfig, TextGenerator};
use srlm_loop::{
    ConfiguredJudges, GeneratorSource, GeneratorSpec, Observer, PromptSource, Role, RunConfig,
};
use srlm_model::LanguageModel;

/// burn's flex backend has one process-wide RNG: runs that train (dropout) go one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `tests/fixtures`, or `SRLM_FIXTURES` (for a test binary run away from its source tree).
pub(crate) fn fixtures() -> PathBuf {
    match std::env::var_os("SRLM_FIXTURES") {
        Some(p) => p.into(),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    }
}

pub(crate) fn fixture(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

/// The committed tiny Llama-3 model, copied with room for 4,096 positions (its rotary
/// embedding is computed, so only the limit changes).
pub(crate) fn tiny_model(dir: &Path) -> PathBuf {
    let target = dir.join("tiny");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(fixtures().join("tiny-llama3")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, target.join(path.file_name().unwrap())).unwrap();
    }
    let config_path = target.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["max_position_embeddings"] = 4096.into();
    std::fs::write(&config_path, serde_json::to_string(&config).unwrap()).unwrap();
    target
}

const WORDS: &[&str] = &[
    "river", "garden", "engine", "market", "planet", "violin", "harbor", "forest", "bridge",
    "castle", "desert", "island", "candle", "mirror", "ladder", "pepper", "rocket", "saddle",
    "tunnel", "wallet", "anchor", "basket", "cotton", "dragon", "falcon", "ginger", "hammer",
    "jacket", "kitten", "lemon", "marble", "needle", "orange", "pillow", "quartz", "ribbon",
];

fn word(h: u64, k: u64) -> &'static str {
    WORDS[((h >> (k * 5)) % WORDS.len() as u64) as usize]
}

fn hash(parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for p in parts {
        for b in *p {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The committed synthetic seed instructions (`tools/fixtures/loop_seed.py`).
pub(crate) fn seed_file() -> PathBuf {
    fixtures().join("loop/seed.jsonl")
}

/// A run configuration sized for the tiny model: every stage does a few units.
pub(crate) fn tiny_config(model: &Path, seed: &Path) -> RunConfig {
    let mut c = RunConfig::default();
    c.model.path = model.to_path_buf();
    c.data.seed = seed.to_path_buf();
    c.data.ift_examples = 6;
    c.data.eft_examples = 4;
    c.data.max_len = 1024;
    c.data.held_out_fraction = 0.2;
    c.data.ladder.max_answer_words = 200;
    c.sft.batch_size = 4;
    // Dropout on, so resuming must reproduce its random masks too.
    c.sft.dropout = 0.1;
    c.dpo.train.dropout = 0.1;
    c.sft.peak_lr = 1e-3;
    c.sft.final_lr = 1e-4;
    // Self-instruction: these tests cover the writer, the filters and their journal.
    c.instruct.source = PromptSource::SelfInstruct;
    c.instruct.prompts = 5;
    c.instruct.max_generations = 24;
    c.instruct.batch = 4;
    c.instruct.max_tokens = 24;
    c.candidates.batch = 2;
    c.candidates.max_tokens = 12;
    c.judge.max_tokens = 12;
    c.judge.batch = 2;
    c.dpo.train.batch_size = 2;
    c.dpo.train.peak_lr = 1e-3;
    c.dpo.train.final_lr = 1e-4;
    c.run.generation_batch = 4;
    // Verifiable instructions off (tests/loop/verifiable.rs turns them on).
    c.data.verifiable.share = 0.0;
    c.data.verifiable.held_out_prompts = 0;
    c.data.verifiable.eval_prompts = 0;
    c.instruct.instructed_share = 0.0;
    // The backend under test (`cpu` unless SRLM_TEST_DEVICE names another).
    c.run.device = std::env::var("SRLM_TEST_DEVICE").unwrap_or_else(|_| "cpu".into());
    c
}

/// Answers like a model that follows instructions: new tasks from word lists, answers of
/// varied length, judgements whose score depends on the answer (and sometimes fail to parse).
#[derive(Debug, Default)]
pub(crate) struct Scripted {
    /// Prompts seen, by role.
    pub(crate) calls: Vec<(Role, usize)>,
    /// How the model each generator was given (Mt) stores its first query projection.
    pub(crate) stored: Vec<(Role, srlm_model::burn::tensor::DType)>,
}

struct ScriptedGenerator<'a> {
    role: Role,
    calls: &'a mut Vec<(Role, usize)>,
}

impl TextGenerator for ScriptedGenerator<'_> {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>, srlm_judge::GenerationError> {
        self.calls.push((self.role, prompts.len() * n));
        Ok(prompts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (0..n)
                    .map(|j| {
                        let h = hash(&[
                            p.as_bytes(),
                            &params.seed.to_le_bytes(),
                            &[i as u8, j as u8],
                        ]);
                        let text = match self.role {
                            // The first two of each batch fail a rule; the rest are new tasks.
                            Role::Instruct => match i {
                                0 => "Task 9: Draw a map of the town.".to_string(),
                                1 => "Hi".to_string(),
                                _ => format!(
                                    "Task 9: Tell me about the {} {} {} {} {}",
                                    word(h, 1),
                                    word(h, 2),
                                    word(h, 3),
                                    word(h, 4),
                                    word(h, 5)
                                ),
                            },
                            Role::Candidates => {
                                let words = 1 + (h % 9) as usize;
                                (0..words as u64)
                                    .map(|k| word(h, k % 12))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            }
                            Role::Judge => {
                                let response = p
                                    .split("<response>")
                                    .nth(1)
                                    .and_then(|r| r.split("</response>").next())
                                    .unwrap_or("");
                                let score = response.split_whitespace().count() % 6;
                                if j == 2 && h.is_multiple_of(4) {
                                    "I cannot decide.".to_string()
                                } else {
                                    format!("It answers the question.\nScore: {score}")
                                }
                            }
                        };
                        Completion {
                            text,
                            truncated: false,
                        }
                    })
                    .collect()
            })
            .collect())
    }
}

impl GeneratorSource for Scripted {
    fn generator<'a>(
        &'a mut self,
        role: Role,
        _spec: &GeneratorSpec,
        current: &'a LanguageModel,
    ) -> srlm_loop::Result<Box<dyn TextGenerator + 'a>> {
        let query = &current.model.layers[0].attention.q.weight;
        self.stored.push((role, query.dtype()));
        Ok(Box::new(ScriptedGenerator {
            role,
            calls: &mut self.calls,
        }))
    }
}

/// Runs `config` in `root` to its end (or its first error) with `source`'s scripted generators,
/// the configured judges and the log as observer.
pub(crate) fn run_scripted(
    root: &Path,
    config: &RunConfig,
    source: &mut Scripted,
) -> srlm_loop::Result<srlm_loop::RunOutcome> {
    srlm_loop::SelfRewardingRun::open(root, config.clone())?.execute_with(
        &mut srlm_loop::LogObserver,
        source,
        &mut configured_judges(config),
    )
}

/// Stops the run after `units` units of `stage` in `iteration` (like a kill between units).
pub(crate) struct StopAt {
    pub(crate) iteration: usize,
    pub(crate) stage: &'static str,
    pub(crate) units: usize,
}

impl Observer for StopAt {
    fn unit_finished(
        &mut self,
        iteration: usize,
        stage: &str,
        done: usize,
        _: &str,
    ) -> ControlFlow<()> {
        if iteration == self.iteration && stage == self.stage && done >= self.units {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Records every event.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) started: Vec<(usize, String, usize, usize)>,
    pub(crate) finished: Vec<srlm_loop::StageSummary>,
}

impl Observer for Recorder {
    fn stage_started(&mut self, iteration: usize, stage: &str, total: usize, done: usize) {
        self.started
            .push((iteration, stage.to_string(), total, done));
    }
    fn stage_finished(&mut self, summary: &srlm_loop::StageSummary) {
        self.finished.push(summary.clone());
    }
}

/// The configured judge (the paper's sampling judge over the run's generators) on the device
/// under test.
pub(crate) fn configured_judges(config: &RunConfig) -> ConfiguredJudges {
    ConfiguredJudges::new(
        srlm_model::parse_device(&config.run.device).unwrap(),
        config.run.generation_batch,
    )
}
