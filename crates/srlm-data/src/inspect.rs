//! Looking at a set before training: what kind it is, how many records, length and score
//! histograms.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{DataError, Result};
use crate::jsonl::{BadLines, JsonlReader, SkipReport};

/// The kind of a JSON Lines set, recognised from its first record's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SetKind {
    /// `prompt`, `response`.
    Ift,
    /// `prompt`, `response`, `judgement`, `score`.
    Eft,
    /// `prompt`, `chosen`, `rejected`.
    Aift,
    /// `turns` (evaluation prompts, [`crate::EvalPrompt`]).
    Eval,
    /// `question_id`, `turns` (MT-Bench's own question file, read by
    /// [`crate::import::import_mtbench`]).
    MtBench,
    /// `messages`.
    Conversation,
}

impl SetKind {
    /// The kind of the set in the JSON Lines file `path`, from its first record (the one rule
    /// every reader of mixed inputs uses). An empty file or a record of no known kind is an
    /// error naming the file and line.
    ///
    /// ```
    /// use srlm_data::{write_jsonl, IftRecord, SetKind};
    /// let dir = std::env::temp_dir().join(format!("srlm-kind-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("ift.jsonl");
    /// write_jsonl(&path, &[IftRecord { prompt: "Hi?".into(), response: "Hello.".into(), source: None }])?;
    /// assert_eq!(SetKind::of_file(&path)?, SetKind::Ift);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), srlm_data::DataError>(())
    /// ```
    pub fn of_file(path: &Path) -> Result<SetKind> {
        let mut reader = JsonlReader::<Map<String, Value>>::open(path, BadLines::Fail)?;
        let Some(record) = reader.next() else {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        };
        let record = record?;
        SetKind::of(&record).ok_or_else(|| unknown_kind(path, reader.line(), &record))
    }

    fn of(record: &Map<String, Value>) -> Option<SetKind> {
        let has = |k: &str| record.contains_key(k);
        if has("judgement") && has("score") {
            Some(SetKind::Eft)
        } else if has("chosen") && has("rejected") {
            Some(SetKind::Aift)
        } else if has("prompt") && has("response") {
            Some(SetKind::Ift)
        } else if has("turns") && has("question_id") {
            Some(SetKind::MtBench)
        } else if has("turns") {
            Some(SetKind::Eval)
        } else if has("messages") {
            Some(SetKind::Conversation)
        } else {
            None
        }
    }
}

fn unknown_kind(path: &Path, line: usize, record: &Map<String, Value>) -> DataError {
    DataError::BadLine {
        path: path.to_path_buf(),
        line,
        reason: format!(
            "not a record of a known set: fields {:?}",
            record.keys().collect::<Vec<_>>()
        ),
    }
}

/// A histogram over power-of-two buckets of word counts: bucket `i` holds lengths in
/// `[2^i, 2^(i+1))`, bucket 0 also holds 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LengthHistogram {
    /// Counts per bucket, keyed by the bucket's lower bound.
    pub buckets: BTreeMap<usize, usize>,
    /// Shortest length.
    pub min: usize,
    /// Longest length.
    pub max: usize,
    /// Sum of lengths (for the mean).
    pub total: usize,
    /// Number of lengths.
    pub count: usize,
}

impl LengthHistogram {
    /// Adds one length.
    pub fn add(&mut self, len: usize) {
        let lower = if len < 2 { 1 } else { 1 << len.ilog2() };
        *self.buckets.entry(lower).or_default() += 1;
        self.min = if self.count == 0 {
            len
        } else {
            self.min.min(len)
        };
        self.max = self.max.max(len);
        self.total += len;
        self.count += 1;
    }

    /// The mean length (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total as f64 / self.count as f64
        }
    }
}

/// What [`inspect`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The set's kind.
    pub kind: SetKind,
    /// Records read.
    pub records: usize,
    /// Prompt lengths in words.
    pub prompt_words: LengthHistogram,
    /// Response lengths in words (`response`, or `chosen` and `rejected` for AIFT).
    pub response_words: LengthHistogram,
    /// Scores rounded to integers (EFT `score`; AIFT `score_chosen` and `score_rejected`).
    pub scores: BTreeMap<i64, usize>,
    /// Counts by `origin` (EFT) or `source` (IFT) or `category` (eval), where present.
    pub origins: BTreeMap<String, usize>,
    /// Bad lines skipped.
    pub skipped: SkipReport,
}

/// Reads a JSON Lines set and summarises it; every record must be of the first one's kind.
pub fn inspect(path: &Path, mode: BadLines) -> Result<Inspection> {
    let mut reader = JsonlReader::<Map<String, Value>>::open(path, mode)?;
    let mut found: Option<Inspection> = None;
    while let Some(record) = reader.next() {
        let record = record?;
        let kind =
            SetKind::of(&record).ok_or_else(|| unknown_kind(path, reader.line(), &record))?;
        let summary = found.get_or_insert_with(|| Inspection {
            kind,
            records: 0,
            prompt_words: LengthHistogram::default(),
            response_words: LengthHistogram::default(),
            scores: BTreeMap::new(),
            origins: BTreeMap::new(),
            skipped: SkipReport::default(),
        });
        if kind != summary.kind {
            return Err(DataError::BadLine {
                path: path.to_path_buf(),
                line: reader.line(),
                reason: format!(
                    "a {kind:?} record in a {:?} set (records before it were {:?})",
                    summary.kind, summary.kind
                ),
            });
        }
        summary.records += 1;
        let words = |k: &str| {
            record
                .get(k)
                .and_then(Value::as_str)
                .map(|s| s.split_whitespace().count())
        };
        match kind {
            SetKind::Eval | SetKind::MtBench => {
                let first = record
                    .get("turns")
                    .and_then(|t| t.get(0))
                    .and_then(Value::as_str)
                    .map_or(0, |s| s.split_whitespace().count());
                summary.prompt_words.add(first);
            }
            SetKind::Conversation => {}
            _ => summary.prompt_words.add(words("prompt").unwrap_or(0)),
        }
        for key in ["response", "chosen", "rejected"] {
            if let Some(n) = words(key) {
                summary.response_words.add(n);
            }
        }
        for key in ["score", "score_chosen", "score_rejected"] {
            if let Some(score) = record.get(key).and_then(Value::as_f64) {
                *summary.scores.entry(score.round() as i64).or_default() += 1;
            }
        }
        for key in ["origin", "source", "category"] {
            if let Some(origin) = record.get(key).and_then(Value::as_str) {
                *summary.origins.entry(origin.to_string()).or_default() += 1;
            }
        }
    }
    let mut summary = found.ok_or_else(|| DataError::Empty {
        path: path.to_path_buf(),
    })?;
    summary.skipped = reader.report().clone();
    Ok(summary)
}
