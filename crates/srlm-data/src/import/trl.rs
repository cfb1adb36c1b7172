//! TRL preference files: the standard format (`prompt`, `chosen`, `rejected` as strings), the
//! conversational one (lists of `{"role", "content"}`) and the implicit-prompt one (`chosen`
//! and `rejected` as whole conversations sharing their first turns). Our own AIFT files are the
//! standard format plus extra fields, which are kept.

use std::path::Path;

use serde_json::{Map, Value};

use super::bad_line;
use crate::error::{DataError, Result};
use crate::jsonl::{reject, BadLines, JsonlReader, SkipReport};
use crate::records::PreferenceRecord;

/// Reads a TRL preference JSONL file. Multi-turn or system-prompted conversations are bad
/// lines (our pairs hold one user prompt).
pub fn import_trl(path: &Path, mode: BadLines) -> Result<(Vec<PreferenceRecord>, SkipReport)> {
    let mut reader = JsonlReader::<Map<String, Value>>::open(path, mode)?;
    let mut records = Vec::new();
    let mut rejected = SkipReport::default();
    while let Some(object) = reader.next() {
        match to_record(object?) {
            Ok(record) => records.push(record),
            Err(reason) => reject(mode, &mut rejected, bad_line(path, reader.line(), reason))?,
        }
    }
    if records.is_empty() && rejected.skipped == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut report = reader.report().clone();
    report.merge(rejected);
    Ok((records, report))
}

fn to_record(mut object: Map<String, Value>) -> std::result::Result<PreferenceRecord, String> {
    let chosen = object.remove("chosen").ok_or("missing field `chosen`")?;
    let rejected = object
        .remove("rejected")
        .ok_or("missing field `rejected`")?;
    let (prompt, chosen, rejected) = match object.remove("prompt") {
        Some(prompt) => (
            user_prompt(&prompt, "prompt")?,
            assistant_text(&chosen, "chosen")?,
            assistant_text(&rejected, "rejected")?,
        ),
        None => {
            let (p1, c) = implicit(&chosen, "chosen")?;
            let (p2, r) = implicit(&rejected, "rejected")?;
            if p1 != p2 {
                return Err("`chosen` and `rejected` start with different user turns".into());
            }
            (p1, c, r)
        }
    };
    object.insert("prompt".into(), Value::String(prompt));
    object.insert("chosen".into(), Value::String(chosen));
    object.insert("rejected".into(), Value::String(rejected));
    serde_json::from_value(Value::Object(object)).map_err(|e| e.to_string())
}

/// `(role, content)` of each message of a conversational field.
fn turns<'a>(
    value: &'a Value,
    field: &str,
) -> std::result::Result<Vec<(&'a str, &'a str)>, String> {
    let list = value
        .as_array()
        .ok_or_else(|| format!("`{field}` must be a string or a list of messages"))?;
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let role = m.get("role").and_then(Value::as_str);
            let content = m.get("content").and_then(Value::as_str);
            match (role, content) {
                (Some(r), Some(c)) => Ok((r, c)),
                _ => Err(format!(
                    "`{field}[{i}]` must be {{\"role\": string, \"content\": string}}"
                )),
            }
        })
        .collect()
}

fn user_prompt(value: &Value, field: &str) -> std::result::Result<String, String> {
    if let Some(text) = value.as_str() {
        return Ok(text.to_string());
    }
    match turns(value, field)?.as_slice() {
        [("user", content)] => Ok((*content).to_string()),
        other => Err(format!(
            "`{field}` must be one user turn; found roles {:?} (multi-turn and system prompts are not supported)",
            other.iter().map(|(r, _)| *r).collect::<Vec<_>>()
        )),
    }
}

fn assistant_text(value: &Value, field: &str) -> std::result::Result<String, String> {
    if let Some(text) = value.as_str() {
        return Ok(text.to_string());
    }
    match turns(value, field)?.as_slice() {
        [("assistant", content)] => Ok((*content).to_string()),
        other => Err(format!(
            "`{field}` must be one assistant turn; found roles {:?}",
            other.iter().map(|(r, _)| *r).collect::<Vec<_>>()
        )),
    }
}

fn implicit(value: &Value, field: &str) -> std::result::Result<(String, String), String> {
    match turns(value, field)?.as_slice() {
        [("user", prompt), ("assistant", answer)] => {
            Ok(((*prompt).to_string(), (*answer).to_string()))
        }
        other => Err(format!(
            "without `prompt`, `{field}` must be [user, assistant]; found roles {:?}",
            other.iter().map(|(r, _)| *r).collect::<Vec<_>>()
        )),
    }
}
