//! OpenAssistant oasst1 messages (`message_id`, `parent_id`, `role`, `rank`, `lang`, `text`; one
//! message a line, `.jsonl` or `.jsonl.gz`) → the paper's IFT seed and EFT candidates.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bad_line;
use crate::error::Result;
use crate::jsonl::{reject, BadLines, JsonlReader, SkipReport};
use crate::records::{IftRecord, RankedAnswer, RankedPrompt};

#[derive(Debug, Deserialize)]
struct OasstMessage {
    message_id: String,
    parent_id: Option<String>,
    role: String,
    text: String,
    #[serde(default)]
    rank: Option<u32>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    deleted: bool,
}

/// What an oasst1 import produced.
#[derive(Debug, Clone, PartialEq)]
pub struct OasstImport {
    /// First-turn prompts with their rank-0 answer (the paper's IFT seed).
    pub ift: Vec<IftRecord>,
    /// First-turn prompts with two or more ranked answers, best first (EFT candidates).
    pub ranked: Vec<RankedPrompt>,
    /// Counts.
    pub report: OasstReport,
}

/// Counts of an oasst1 import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OasstReport {
    /// Messages read.
    pub messages: usize,
    /// Deleted messages ignored.
    pub deleted: usize,
    /// Conversation roots (first-turn prompts).
    pub roots: usize,
    /// Roots in the requested language.
    pub roots_in_lang: usize,
    /// Bad lines skipped (skip mode only).
    pub skipped: SkipReport,
}

/// Reads oasst1 messages from `path` and keeps the first turn of each conversation: a root
/// `prompter` message in `lang` (all languages when `None`; the paper used English) with its
/// `assistant` replies. A reply ranked 0 gives an IFT record; a root with two or more ranked,
/// non-deleted replies gives a [`RankedPrompt`]. Deleted messages are ignored. Output follows
/// the file's order of roots.
pub fn import_oasst(path: &Path, lang: Option<&str>, mode: BadLines) -> Result<OasstImport> {
    let mut reader = JsonlReader::<OasstMessage>::open(path, mode)?;
    let mut roots: Vec<OasstMessage> = Vec::new();
    let mut replies: HashMap<String, Vec<(u32, String)>> = HashMap::new();
    let mut report = OasstReport::default();
    let mut rejected = SkipReport::default();
    while let Some(message) = reader.next() {
        let message = message?;
        report.messages += 1;
        if message.deleted {
            report.deleted += 1;
            continue;
        }
        match (message.role.as_str(), &message.parent_id) {
            ("prompter", None) => roots.push(message),
            ("prompter", Some(_)) => {}
            ("assistant", Some(parent)) => {
                if let Some(rank) = message.rank {
                    replies
                        .entry(parent.clone())
                        .or_default()
                        .push((rank, message.text));
                }
            }
            ("assistant", None) => reject(
                mode,
                &mut rejected,
                bad_line(
                    path,
                    reader.line(),
                    format!("assistant message {} has no parent", message.message_id),
                ),
            )?,
            (role, _) => reject(
                mode,
                &mut rejected,
                bad_line(
                    path,
                    reader.line(),
                    format!("role {role:?} is neither \"prompter\" nor \"assistant\""),
                ),
            )?,
        }
    }
    report.skipped = reader.report().clone();
    report.skipped.merge(rejected);
    report.roots = roots.len();
    let mut ift = Vec::new();
    let mut ranked = Vec::new();
    for root in roots {
        if lang.is_some_and(|l| root.lang.as_deref() != Some(l)) {
            continue;
        }
        report.roots_in_lang += 1;
        let Some(mut answers) = replies.remove(&root.message_id) else {
            continue;
        };
        answers.sort_by_key(|(rank, _)| *rank);
        if let Some((_, best)) = answers.iter().find(|(rank, _)| *rank == 0) {
            ift.push(IftRecord {
                prompt: root.text.clone(),
                response: best.clone(),
                source: Some("oasst1".into()),
            });
        }
        if answers.len() >= 2 {
            ranked.push(RankedPrompt {
                prompt: root.text,
                answers: answers
                    .into_iter()
                    .map(|(rank, text)| RankedAnswer { text, rank })
                    .collect(),
            });
        }
    }
    Ok(OasstImport {
        ift,
        ranked,
        report,
    })
}
