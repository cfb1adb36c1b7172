//! Completions kept on disk, so that work interrupted by a crash is not redone: a
//! [`JournaledGenerator`] answers from its [`CompletionJournal`] every prompt already completed
//! with the same settings, asks its inner generator for the rest a chunk at a time, and appends
//! each chunk's completions (one JSON line per prompt, flushed and synced) before going on.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use srlm_fs::Journal;

use crate::error::{JudgeError, Result};
use srlm_generation::{
    complete_checked, Completion, GenerationConfig, GenerationError, TextGenerator,
};

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    completions: Vec<Completion>,
}

/// An append-only file of completions keyed by (prompt, samples, settings): an
/// [`srlm_fs::Journal`] of them, indexed by key (the completions are held once, in the journal).
#[derive(Debug)]
pub struct CompletionJournal {
    journal: Journal<Entry>,
    /// Each key's entry in the journal (the last one, for a key written twice).
    index: HashMap<String, usize>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("key", &self.key).finish()
    }
}

impl CompletionJournal {
    /// Opens (or creates) the journal at `path` and reads what it holds. A last line cut by a
    /// crash is dropped from the file; any other unreadable line is an error naming the line.
    pub fn open(path: &Path) -> Result<Self> {
        let journal = Journal::<Entry>::open(path)
            .map_err(|e| JudgeError::InvalidInput(format!("journal {e}")))?;
        let index = journal
            .entries()
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
        Ok(CompletionJournal { journal, index })
    }

    /// Prompts recorded.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn key(prompt: &str, n: usize, params: &GenerationConfig) -> String {
        // Settings first, so keys of one call share a prefix; the prompt in full (no hash
        // collisions to reason about). Top-k and stop ids only when set, so journals written
        // before they were settings still match.
        let sampling = &params.sampling;
        let mut key = format!(
            "{n}|{}|{}|{}|{}|",
            sampling.temperature, sampling.top_p, params.max_new_tokens, params.seed
        );
        if sampling.top_k > 0 || !params.stop_ids.is_empty() {
            key.push_str(&format!("k{}|stop{:?}|", sampling.top_k, params.stop_ids));
        }
        key.push_str(prompt);
        key
    }

    /// The completions recorded under `key`.
    fn get(&self, key: &str) -> Option<&Vec<Completion>> {
        let &i = self.index.get(key)?;
        Some(&self.journal.entries()[i].completions)
    }

    fn append(&mut self, rows: Vec<(String, Vec<Completion>)>) -> Result<()> {
        let first = self.journal.entries().len();
        let keys: Vec<String> = rows.iter().map(|(key, _)| key.clone()).collect();
        let entries = rows
            .into_iter()
            .map(|(key, completions)| Entry { key, completions })
            .collect();
        self.journal
            .append_all(entries)
            .map_err(|e| JudgeError::InvalidInput(format!("journal {e}")))?;
        self.index.extend(keys.into_iter().zip(first..));
        Ok(())
    }
}

/// A [`TextGenerator`] that remembers its completions in a [`CompletionJournal`].
pub struct JournaledGenerator<G> {
    inner: G,
    journal: CompletionJournal,
    chunk: usize,
}

impl<G: TextGenerator> JournaledGenerator<G> {
    /// Wraps `inner` (a generator, or `&mut` one); new completions are asked for and recorded
    /// `chunk` prompts at a time.
    pub fn new(inner: G, journal: CompletionJournal, chunk: usize) -> Self {
        JournaledGenerator {
            inner,
            journal,
            chunk: chunk.max(1),
        }
    }
}

impl<G: TextGenerator> TextGenerator for JournaledGenerator<G> {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &GenerationConfig,
    ) -> srlm_generation::Result<Vec<Vec<Completion>>> {
        let keys: Vec<String> = prompts
            .iter()
            .map(|p| CompletionJournal::key(p, n, params))
            .collect();
        let missing: Vec<usize> = (0..prompts.len())
            .filter(|&i| !self.journal.index.contains_key(&keys[i]))
            .collect();
        for chunk in missing.chunks(self.chunk) {
            let asked: Vec<String> = chunk.iter().map(|&i| prompts[i].clone()).collect();
            let rows = complete_checked(&mut self.inner, &asked, n, params)?;
            let entries = chunk.iter().map(|&i| keys[i].clone()).zip(rows).collect();
            self.journal
                .append(entries)
                .map_err(GenerationError::generator)?;
        }
        keys.iter()
            .map(|k| {
                self.journal.get(k).cloned().ok_or_else(|| {
                    GenerationError::generator(JudgeError::InvalidInput(
                        "a journaled completion went missing".into(),
                    ))
                })
            })
            .collect()
    }
}
