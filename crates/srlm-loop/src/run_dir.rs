//! The run folder: where each stage's output lives, and the only code that writes there.
//!
//! ```text
//! RUN/config.toml             the settings of the run (checked when it is resumed)
//! RUN/data/                   seed IFT, EFT sets, the SFT draw
//! RUN/sft/                    SFT checkpoints and metrics      → RUN/M1/
//! RUN/iterT/prompts.jsonl     new prompts of iteration T (made with MT)
//! RUN/iterT/candidates.jsonl  N responses per prompt
//! RUN/iterT/judgements.jsonl  scored responses
//! RUN/iterT/aift.jsonl        preference pairs
//! RUN/iterT/dpo/              DPO checkpoints, metrics, reference log-prob cache → RUN/M{T+1}/
//! RUN/summaries/*.json        one summary per finished stage
//! RUN/metrics.jsonl           every stage summary, in order (rebuilt from summaries/)
//! RUN/clock/*.json            seconds an unfinished stage has run so far (across invocations)
//! RUN/run.log                 the log
//! RUN/.lock                   held by the one process working in the folder (its PID inside)
//! ```
//!
//! A stage is finished when its output exists: outputs are written to a temporary name and
//! renamed, models to `MT.partial/` and renamed, so a finished-looking output is always whole.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use srlm_data::{read_jsonl, write_jsonl, BadLines};
use srlm_fs::FolderLock;
use srlm_model::LanguageModel;

use crate::config::RunConfig;
use crate::error::{LoopError, Result};

/// One line of `metrics.jsonl`: what a finished stage did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSummary {
    /// Iteration (0 for data and SFT).
    pub iteration: usize,
    /// The stage (`data`, `sft`, `instruct`, `candidates`, `judge`, `pairs`, `dpo`).
    pub stage: String,
    /// Seconds spent in the stage over every invocation that worked on it (an interrupted one
    /// counts up to its last finished unit of work).
    pub wall_s: f64,
    /// Whether earlier invocations had done part of it.
    pub resumed: bool,
    /// Counts and statistics of the stage.
    pub stats: serde_json::Value,
}

/// Paths and atomic writes in a run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    /// Held while any clone lives, when opened for writing ([`RunDir::open`]).
    _lock: Option<Arc<FolderLock>>,
    /// What this opening made: the folder itself and/or `config.toml` (a start that fails
    /// before any stage removes them again, [`RunDir::discard_unstarted`]).
    made: Made,
}

#[derive(Debug, Clone, Copy, Default)]
struct Made {
    folder: bool,
    config: bool,
}

/// Removes `path`; one that is not there is already removed.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LoopError::io(path, e)),
        _ => Ok(()),
    }
}

/// The settings that decide a run's results: `config` without those a resumed run may change.
fn comparable(config: &RunConfig) -> RunConfig {
    let mut c = config.clone();
    c.run.iterations = 0;
    c.run.device = String::new();
    c.http = Default::default();
    c.serve = Default::default();
    for spec in [
        &mut c.instruct.generator,
        &mut c.candidates.generator,
        &mut c.judge.generator,
    ] {
        if let crate::GeneratorSpec::OpenAi(served) = spec {
            served.base_url.clear();
            served.model.clear();
        }
    }
    c
}

/// The order of stages within an iteration, for `metrics.jsonl`.
const STAGE_ORDER: &[&str] = &[
    "seed-answers",
    "verifiable-answers",
    "data",
    "sft",
    "instruct",
    "candidates",
    "judge",
    "pairs",
    "dpo",
];

impl RunDir {
    /// Opens `root` for `config`: locks it against any other process (an error naming the
    /// holder's PID), then a new folder gets `config.toml`; an existing one must have been made
    /// by the same settings, except what does not change the run's results: `run.iterations`
    /// may grow (to extend a run); the device, `[http]`, `[serve]` and a served role's URL and
    /// model name may change (a served role's model is checked each iteration). `config.toml`
    /// then records the new settings.
    pub fn open(root: &Path, config: &RunConfig) -> Result<Self> {
        let folder = !root.exists();
        std::fs::create_dir_all(root).map_err(|e| LoopError::io(root, e))?;
        let lock = FolderLock::acquire(root)?;
        let mut dir = RunDir {
            root: root.to_path_buf(),
            _lock: Some(Arc::new(lock)),
            made: Made {
                folder,
                config: false,
            },
        };
        let path = dir.config_path();
        if path.exists() {
            let saved = RunConfig::from_toml_file(&path, config.clone())?;
            let (a, b) = (comparable(&saved), comparable(config));
            if a != b {
                let (x, y) = (a.to_toml()?, b.to_toml()?);
                let reason = x
                    .lines()
                    .zip(y.lines())
                    .find(|(l, r)| l != r)
                    .map(|(l, r)| format!("`{l}` there, `{r}` now"))
                    .unwrap_or_else(|| "the settings differ".into());
                return Err(LoopError::ConfigChanged { path, reason });
            }
            if config.run.device != saved.run.device {
                tracing::warn!(
                    was = %saved.run.device,
                    now = %config.run.device,
                    "the run continues on another device"
                );
            }
            if *config != saved {
                dir.write_text(&path, &config.to_toml()?)?;
            }
        } else {
            dir.write_text(&path, &config.to_toml()?)?;
            dir.made.config = true;
        }
        Ok(dir)
    }

    /// Undoes this opening when no stage has written anything yet (a start that failed its
    /// checks — an unreachable server, an unset key — leaves no folder or `config.toml` to refuse
    /// the corrected settings). Does nothing once a stage has written, or for a folder that had
    /// a `config.toml` before.
    pub fn discard_unstarted(&self) -> Result<()> {
        if !self.made.config {
            return Ok(());
        }
        let ours = ["config.toml", "run.log", FolderLock::FILE_NAME];
        let entries = std::fs::read_dir(&self.root).map_err(|e| LoopError::io(&self.root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| LoopError::io(&self.root, e))?;
            if !ours.iter().any(|n| entry.file_name() == *n) {
                return Ok(());
            }
        }
        if self.made.folder {
            return std::fs::remove_dir_all(&self.root).map_err(|e| LoopError::io(&self.root, e));
        }
        for name in ours {
            remove_file(&self.root.join(name))?;
        }
        Ok(())
    }

    /// An existing run folder, for reading (evaluation): its settings come from its
    /// `config.toml`, and nothing is written.
    pub fn existing(root: &Path) -> Result<(Self, RunConfig)> {
        let dir = RunDir {
            root: root.to_path_buf(),
            _lock: None,
            made: Made::default(),
        };
        let path = dir.config_path();
        if !path.exists() {
            return Err(LoopError::Config {
                path: Some(path),
                reason: "not a run folder (no config.toml)".into(),
            });
        }
        let config = RunConfig::from_toml_file(&path, RunConfig::default())?;
        Ok((dir, config))
    }

    /// The models `M1/`, `M2/`, … that exist, in order.
    pub fn models(&self) -> Vec<(usize, PathBuf)> {
        (1..)
            .map(|t| (t, self.model(t)))
            .take_while(|(_, p)| p.exists())
            .collect()
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `run.log`.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("run.log")
    }

    /// Opens `run.log` for appending (the caller's logger writes there).
    pub fn open_log(&self) -> Result<std::fs::File> {
        let path = self.log_path();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| LoopError::io(&path, e))
    }

    /// `data/NAME`.
    pub fn data(&self, name: &str) -> PathBuf {
        self.root.join("data").join(name)
    }

    /// `data/instructed-eval.jsonl`: held-out seed prompts with verifiable instructions of every
    /// kind, for `srlm eval`'s instruction-following section (written when
    /// `data.verifiable.eval_prompts` > 0).
    pub fn instructed_eval(&self) -> PathBuf {
        self.data("instructed-eval.jsonl")
    }

    /// `iterT/NAME`.
    pub fn iteration(&self, t: usize, name: &str) -> PathBuf {
        self.root.join(format!("iter{t}")).join(name)
    }

    /// The model folder `MT` (`M1` is the SFT model).
    pub fn model(&self, t: usize) -> PathBuf {
        self.root.join(format!("M{t}"))
    }

    /// A working folder (`sft`, `iterT/dpo`), created.
    pub fn workdir(&self, relative: &str) -> Result<PathBuf> {
        let path = self.root.join(relative);
        std::fs::create_dir_all(&path).map_err(|e| LoopError::io(&path, e))?;
        Ok(path)
    }

    fn ensure_parent(path: &Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| LoopError::io(parent, e))?;
        }
        Ok(())
    }

    /// Writes a text file atomically.
    pub fn write_text(&self, path: &Path, text: &str) -> Result<()> {
        Self::ensure_parent(path)?;
        srlm_model::write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// Writes records as JSON Lines atomically.
    pub fn write_records<T: Serialize>(&self, path: &Path, records: &[T]) -> Result<()> {
        Self::ensure_parent(path)?;
        write_jsonl(path, records)?;
        Ok(())
    }

    /// Reads records written by [`RunDir::write_records`] (an empty file is no records).
    pub fn read_records<T: DeserializeOwned>(&self, path: &Path) -> Result<Vec<T>> {
        let len = std::fs::metadata(path)
            .map_err(|e| LoopError::io(path, e))?
            .len();
        if len == 0 {
            return Ok(Vec::new());
        }
        Ok(read_jsonl(path, BadLines::Fail)?.0)
    }

    /// Saves a model as `MT/` (through `MT.partial/`, renamed when complete).
    pub fn save_model(&self, t: usize, model: &LanguageModel) -> Result<PathBuf> {
        self.save_model_with(t, model, |_| Ok(()))
    }

    /// [`RunDir::save_model`], `extra` writing more into the folder before it is renamed.
    pub(crate) fn save_model_with(
        &self,
        t: usize,
        model: &LanguageModel,
        extra: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<PathBuf> {
        let target = self.model(t);
        let partial = self.root.join(format!("M{t}.partial"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(|e| LoopError::io(&partial, e))?;
        }
        model.save_pretrained(&partial)?;
        extra(&partial)?;
        srlm_model::rename_durable(&partial, &target)?;
        Ok(target)
    }

    /// Records a finished stage's summary and rebuilds `metrics.jsonl`.
    pub fn record_summary(&self, summary: &StageSummary) -> Result<()> {
        let path = self
            .root
            .join("summaries")
            .join(format!("{:02}-{}.json", summary.iteration, summary.stage));
        let json = serde_json::to_string_pretty(summary).map_err(|e| LoopError::Corrupt {
            path: path.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        self.write_text(&path, &json)?;
        let mut all = self.summaries()?;
        all.sort_by_key(|s| {
            (
                s.iteration,
                STAGE_ORDER
                    .iter()
                    .position(|x| *x == s.stage)
                    .unwrap_or(STAGE_ORDER.len()),
            )
        });
        self.write_records(&self.root.join("metrics.jsonl"), &all)
    }

    /// Every recorded stage summary (unordered).
    pub fn summaries(&self) -> Result<Vec<StageSummary>> {
        let dir = self.root.join("summaries");
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| LoopError::io(&dir, e))? {
            let path = entry.map_err(|e| LoopError::io(&dir, e))?.path();
            if path.extension().is_some_and(|x| x == "json") {
                let text = std::fs::read_to_string(&path).map_err(|e| LoopError::io(&path, e))?;
                out.push(serde_json::from_str(&text).map_err(|e| LoopError::Corrupt {
                    path: path.clone(),
                    line: e.line(),
                    reason: e.to_string(),
                })?);
            }
        }
        Ok(out)
    }
}
