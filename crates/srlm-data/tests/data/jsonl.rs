//! Round trips and bad input for the record files.

use std::path::Path;

use srlm_data::{
    read_jsonl, write_jsonl, AtomicJsonlWriter, BadLines, Conversation, DataError, EftRecord,
    IftRecord, JsonlReader, PreferenceRecord, Turn,
};

fn round_trip<T>(records: &[T])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set.jsonl");
    assert_eq!(write_jsonl(&path, records).unwrap(), records.len());
    let (back, report) = read_jsonl::<T>(&path, BadLines::Fail).unwrap();
    assert_eq!(back, records);
    assert_eq!(report.skipped, 0);
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "only the final file remains");
}

#[test]
fn every_record_type_round_trips() {
    round_trip(&[
        IftRecord {
            prompt: "Hi ünïcode 日本 🦊".into(),
            response: "Hello\n\"quoted\"".into(),
            source: Some("sharegpt".into()),
        },
        IftRecord {
            prompt: "p".into(),
            response: "r".into(),
            source: None,
        },
    ]);
    round_trip(&[EftRecord {
        prompt: "p".into(),
        response: "r".into(),
        judgement: "Relevant and complete.\nScore: 4".into(),
        score: 4.0,
        origin: Some("ladder:answer".into()),
    }]);
    round_trip(&[PreferenceRecord {
        prompt: "p".into(),
        chosen: "good".into(),
        rejected: "bad".into(),
        score_chosen: Some(4.33),
        score_rejected: Some(1.0),
        iteration: Some(2),
        judge_texts_chosen: vec!["Score: 4".into(), "Score: 5".into()],
        judge_texts_rejected: vec![],
    }]);
    round_trip(&[Conversation {
        messages: vec![Turn {
            role: "user".into(),
            content: "hi".into(),
        }],
    }]);
}

#[test]
fn trl_preference_files_come_in_and_go_out_with_trl_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trl.jsonl");
    std::fs::write(
        &path,
        "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n",
    )
    .unwrap();
    let (records, _) = read_jsonl::<PreferenceRecord>(&path, BadLines::Fail).unwrap();
    assert_eq!(records[0].chosen, "a");
    assert_eq!(records[0].iteration, None);
    let out = dir.path().join("out.jsonl");
    write_jsonl(&out, &records).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\"}\n"
    );
}

fn bad_file(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join("bad.jsonl");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn each_kind_of_bad_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = b"{\"prompt\": \"p\", \"response\": \"r\"}\n";
    let cases: [(&[u8], &str); 4] = [
        (b"{\"prompt\": \"p\", \"response\": ", "EOF while parsing"),
        (b"{\"prompt\": \"p\"}", "missing field `response`"),
        (
            b"{\"prompt\": 3, \"response\": \"r\"}",
            "invalid type: integer `3`",
        ),
        (
            b"{\"prompt\": \"\xff\xfe\", \"response\": \"r\"}",
            "invalid UTF-8",
        ),
    ];
    for (bad, expected) in cases {
        let mut bytes = good.to_vec();
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(bad);
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(good);
        let path = bad_file(dir.path(), &bytes);
        let err = read_jsonl::<IftRecord>(&path, BadLines::Fail).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DataError::BadLine { line: 3, .. }), "{text}");
        assert!(
            text.starts_with(&format!("{}:3: ", path.display())) && text.contains(expected),
            "{text}"
        );
        let (records, report) = read_jsonl::<IftRecord>(&path, BadLines::Skip).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(report.skipped, 1);
        assert!(report.errors[0].contains(":3: "), "{:?}", report.errors);
    }
}

#[test]
fn empty_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = bad_file(dir.path(), b"\n  \n");
    assert!(matches!(
        read_jsonl::<IftRecord>(&path, BadLines::Fail),
        Err(DataError::Empty { .. })
    ));
    let missing = dir.path().join("nope.jsonl");
    let err = JsonlReader::<IftRecord>::open(&missing, BadLines::Fail)
        .err()
        .unwrap();
    assert!(err.to_string().contains("nope.jsonl"));
}

#[test]
fn an_unfinished_writer_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set.jsonl");
    std::fs::write(&path, "old contents\n").unwrap();
    {
        let mut writer = AtomicJsonlWriter::create(&path).unwrap();
        writer
            .push(&IftRecord {
                prompt: "p".into(),
                response: "r".into(),
                source: None,
            })
            .unwrap();
        // Dropped without finish(): as if the process died mid-write.
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old contents\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_line_over_the_limit_is_a_bad_line_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let good = "{\"prompt\": \"p\", \"response\": \"r\"}\n";
    let long = format!(
        "{{\"prompt\": \"{}\", \"response\": \"r\"}}\n",
        "x".repeat(100)
    );
    let path = bad_file(dir.path(), format!("{good}{long}{good}").as_bytes());
    let read = |mode| -> Result<Vec<IftRecord>, DataError> {
        JsonlReader::<IftRecord>::open(&path, mode)
            .unwrap()
            .with_max_line_bytes(64)
            .collect()
    };
    let err = read(BadLines::Fail).unwrap_err();
    assert!(matches!(err, DataError::BadLine { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("limit of 64 bytes"), "{err}");
    let mut skipping = JsonlReader::<IftRecord>::open(&path, BadLines::Skip)
        .unwrap()
        .with_max_line_bytes(64);
    assert_eq!(skipping.by_ref().count(), 2);
    assert_eq!(skipping.report().skipped, 1);
    // Exactly at the limit (the newline aside) is fine.
    let exact = JsonlReader::<IftRecord>::open(&path, BadLines::Fail)
        .unwrap()
        .with_max_line_bytes(long.len() - 1);
    assert_eq!(exact.count(), 3);
}

#[cfg(unix)]
#[test]
fn an_endless_line_stops_at_the_limit() {
    // Before, `data inspect /dev/zero` grew until the process aborted.
    let mut reader = JsonlReader::<IftRecord>::open(Path::new("/dev/zero"), BadLines::Fail)
        .unwrap()
        .with_max_line_bytes(1 << 20);
    let err = reader.next().unwrap().unwrap_err();
    assert!(matches!(err, DataError::BadLine { line: 1, .. }), "{err}");
}
