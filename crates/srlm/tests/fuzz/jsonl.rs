//! The JSON Lines readers: every record type, both bad-line modes, `inspect`, and the two
//! journals (generation completions, the loop's units).

use proptest::prelude::*;
use srlm::data::{
    inspect, BadLines, Conversation, EftRecord, EvalPrompt, IftRecord, JsonlReader,
    PreferenceRecord, RankedPrompt,
};
use srlm::fs::Journal;
use srlm::judge::CompletionJournal;

use super::{apply, edits, fixtures, fuzz, temp_file};

/// A line: a record of the corpus, a JSON value from a small grammar (deeply nested, huge
/// numbers, odd strings), or bytes.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let mut corpus = Vec::new();
    for name in [
        "trl_standard.jsonl",
        "trl_implicit.jsonl",
        "trl_conversational.jsonl",
        "oasst.jsonl",
        "mt_bench.jsonl",
    ] {
        let text = std::fs::read_to_string(fixtures().join("data").join(name))
            .expect("tests/fixtures/data");
        corpus.extend(text.lines().map(|l| l.as_bytes().to_vec()));
    }
    corpus
        .push(br#"{"prompt": "p", "response": "r", "judgement": "Score: 4", "score": 4}"#.to_vec());
    corpus.push(br#"{"messages": [{"role": "user", "content": "hi"}]}"#.to_vec());
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("1e999".to_string()),
        Just("-0".to_string()),
        Just("18446744073709551616".to_string()),
        Just("\"\\ud800\"".to_string()),
        "\\PC{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        any::<f64>().prop_map(|f| f.to_string()),
    ];
    let value = leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "prompt",
                        "response",
                        "chosen",
                        "rejected",
                        "judgement",
                        "score",
                        "messages",
                        "role",
                        "content",
                        "answers",
                        "origin",
                        "x"
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| format!(
                "{{{}}}",
                kv.iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        ]
    });
    prop_oneof![
        3 => (prop::sample::select(corpus), prop::option::of(edits()))
            .prop_map(|(l, e)| match e { Some(e) => apply(l, &e), None => l }),
        3 => value.prop_map(String::into_bytes),
        1 => (1usize..3000).prop_map(|depth| "[".repeat(depth).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ]
}

fn file() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(line(), 0..8), any::<bool>()).prop_map(|(lines, last_newline)| {
        let mut out = lines.join(&b'\n');
        if last_newline {
            out.push(b'\n');
        }
        out
    })
}

fn read_all<T: serde::de::DeserializeOwned>(path: &std::path::Path) {
    for mode in [BadLines::Fail, BadLines::Skip] {
        if let Ok(reader) = JsonlReader::<T>::open(path, mode) {
            for record in reader.with_max_line_bytes(1 << 16) {
                if record.is_err() && mode == BadLines::Fail {
                    break;
                }
            }
        }
    }
}

#[test]
fn jsonl_readers() {
    let dir = tempfile::tempdir().unwrap();
    fuzz("jsonl", file(), |bytes| {
        let path = temp_file(dir.path(), "set.jsonl", &bytes);
        read_all::<IftRecord>(&path);
        read_all::<EftRecord>(&path);
        read_all::<PreferenceRecord>(&path);
        read_all::<Conversation>(&path);
        read_all::<EvalPrompt>(&path);
        read_all::<RankedPrompt>(&path);
        let _ = inspect(&path, BadLines::Fail);
        let _ = inspect(&path, BadLines::Skip);
        let journal = temp_file(dir.path(), "completions.jsonl", &bytes);
        let _ = CompletionJournal::open(&journal);
        let units = temp_file(dir.path(), "units.journal", &bytes);
        let _ = Journal::<Vec<u32>>::open(&units);
        Ok(())
    });
}
