//! Importers on small fixtures in each real schema (written by
//! `tools/fixtures/data_fixtures.py`, which also computes the expected outputs independently),
//! and on the fetched ShareGPT seed when it is there.

use std::io::Write;

use srlm_data::import::{
    import_mtbench, import_oasst, import_sharegpt, import_trl, ShareGptOptions,
};
use srlm_data::{BadLines, DataError, PreferenceRecord};

use crate::common::{data, expected, root};

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn oasst_tree_gives_rank0_ift_and_ranked_siblings_in_rank_order() {
    let imported = import_oasst(&data("oasst.jsonl"), Some("en"), BadLines::Fail).unwrap();
    let want = &expected()["oasst_en"];
    assert_eq!(json(&imported.ift), want["ift"]);
    assert_eq!(json(&imported.ranked), want["ranked"]);
    // The tides prompt: three live ranked answers, deleted one gone, second turn ignored.
    assert_eq!(imported.ranked[0].answers.len(), 3);
    assert_eq!(imported.report.deleted, 1);
    assert_eq!(imported.report.roots, 4);
    assert_eq!(imported.report.roots_in_lang, 3);

    let all = import_oasst(&data("oasst.jsonl"), None, BadLines::Fail).unwrap();
    assert_eq!(json(&all.ift), expected()["oasst_all"]["ift"]);
    assert_eq!(json(&all.ranked), expected()["oasst_all"]["ranked"]);
}

#[test]
fn oasst_reads_gzip_the_same_as_plain() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("oasst.jsonl.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    encoder
        .write_all(&std::fs::read(data("oasst.jsonl")).unwrap())
        .unwrap();
    encoder.finish().unwrap();
    let plain = import_oasst(&data("oasst.jsonl"), Some("en"), BadLines::Fail).unwrap();
    let packed = import_oasst(&gz, Some("en"), BadLines::Fail).unwrap();
    assert_eq!(plain, packed);
}

#[test]
fn oasst_bad_role_names_file_and_line_or_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let mut text = std::fs::read_to_string(data("oasst.jsonl")).unwrap();
    text.push_str(r#"{"message_id": "z", "parent_id": "p1", "role": "moderator", "text": "x"}"#);
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let err = import_oasst(&path, Some("en"), BadLines::Fail).unwrap_err();
    assert!(matches!(err, DataError::BadLine { line: 17, .. }), "{err}");
    assert!(
        err.to_string().contains("bad.jsonl:17: role \"moderator\""),
        "{err}"
    );
    let skipped = import_oasst(&path, Some("en"), BadLines::Skip).unwrap();
    assert_eq!(skipped.report.skipped.skipped, 1);
    assert_eq!(json(&skipped.ift), expected()["oasst_en"]["ift"]);
}

#[test]
fn sharegpt_keeps_complete_records_of_a_truncated_file() {
    let path = data("sharegpt_truncated.json");
    let (pairs, report) =
        import_sharegpt(&path, ShareGptOptions::default(), BadLines::Fail).unwrap();
    assert_eq!(json(&pairs), expected()["sharegpt"]);
    assert_eq!(report.conversations, expected()["sharegpt_conversations"]);
    assert_eq!(report.non_ascii, 1);
    assert_eq!(report.blank, 1);
    let cut_line = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .position(|l| l.contains("g_0"))
        .unwrap();
    // The unfinished record starts at its `{`, the line before its id.
    assert_eq!(report.truncated_at_line, Some(cut_line));

    let options = ShareGptOptions {
        ascii_prompts_only: false,
    };
    let (all, _) = import_sharegpt(&path, options, BadLines::Fail).unwrap();
    assert_eq!(json(&all), expected()["sharegpt_non_ascii"]);
}

#[test]
fn sharegpt_complete_file_and_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"[{"id":"a","conversations":[{"from":"human","value":"Hi, [x] {y}"},{"from":"gpt","value":"Hello \"there\""}]}]"#,
    )
    .unwrap();
    let (pairs, report) =
        import_sharegpt(&good, ShareGptOptions::default(), BadLines::Fail).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].response, "Hello \"there\"");
    assert_eq!(report.truncated_at_line, None);

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "[\n{\"id\": \"a\", \"conversations\": [{\"from\": \"human\", \"value\": \"q\"}, {\"from\": \"gpt\", \"value\": \"a\"}]},\n{\"id\": \"b\", \"conversations\": [{\"from\": \"human\"}]}\n]\n",
    )
    .unwrap();
    let err = import_sharegpt(&bad, ShareGptOptions::default(), BadLines::Fail).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("bad.json:3:") && text.contains("missing field `value`"),
        "{text}"
    );
    let (pairs, report) =
        import_sharegpt(&bad, ShareGptOptions::default(), BadLines::Skip).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(report.skipped.skipped, 1);

    let object = dir.path().join("object.json");
    std::fs::write(&object, "{\"conversations\": []}").unwrap();
    let err = import_sharegpt(&object, ShareGptOptions::default(), BadLines::Fail).unwrap_err();
    assert!(
        err.to_string()
            .contains("object.json:1: expected a JSON array"),
        "{err}"
    );

    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    let err = import_sharegpt(&empty, ShareGptOptions::default(), BadLines::Fail).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err}");
}

/// The fetched seed (`scripts/fetch-data.sh`), counted against Python's reading of it.
#[test]
#[cfg_attr(
    not(has_sharegpt),
    ignore = "ShareGPT seed absent: run scripts/fetch-data.sh"
)]
fn sharegpt_seed_counts_match_python() {
    let seed = root().join("assets/data/sharegpt.json");
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("sharegpt_seed_counts.json")).unwrap())
            .unwrap();
    let (pairs, report) =
        import_sharegpt(&seed, ShareGptOptions::default(), BadLines::Fail).unwrap();
    assert_eq!(
        report.conversations as u64,
        want["conversations"].as_u64().unwrap()
    );
    assert_eq!(report.human_gpt as u64, want["human_gpt"].as_u64().unwrap());
    assert_eq!(
        (report.human_gpt - report.non_ascii) as u64,
        want["ascii_prompt"].as_u64().unwrap()
    );
    assert_eq!(pairs.len() as u64, want["pairs"].as_u64().unwrap());
    assert!(report.truncated_at_line.is_some());
    let chars = |r: &srlm_data::IftRecord| {
        serde_json::json!([r.prompt.chars().count(), r.response.chars().count()])
    };
    assert_eq!(chars(&pairs[0]), want["first_chars"]);
    assert_eq!(chars(pairs.last().unwrap()), want["last_chars"]);
}

#[test]
fn mtbench_questions_become_eval_prompts() {
    let (prompts, _) = import_mtbench(&data("mt_bench.jsonl"), BadLines::Fail).unwrap();
    assert_eq!(prompts.len(), 3);
    assert_eq!(prompts[0].id, "81");
    assert_eq!(prompts[0].category.as_deref(), Some("writing"));
    assert_eq!(prompts[0].turns[0], "Compose a travel blog post.");
    assert_eq!(prompts[2].id, "x-1");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.jsonl");
    std::fs::write(
        &path,
        "{\"question_id\": 1, \"turns\": [\"ok\"]}\n{\"question_id\": 2, \"turns\": []}\n",
    )
    .unwrap();
    let err = import_mtbench(&path, BadLines::Fail).unwrap_err();
    assert!(
        err.to_string()
            .contains("q.jsonl:2: the question has no first turn"),
        "{err}"
    );
}

/// The fetched MT-Bench file: 80 questions, 10 per category.
#[test]
#[cfg_attr(
    not(has_mtbench),
    ignore = "MT-Bench absent: run scripts/fetch-data.sh"
)]
fn mtbench_seed_has_80_questions_in_8_categories() {
    let path = root().join("assets/data/mt_bench.jsonl");
    let (prompts, _) = import_mtbench(&path, BadLines::Fail).unwrap();
    assert_eq!(prompts.len(), 80);
    let mut categories: Vec<_> = prompts.iter().filter_map(|p| p.category.clone()).collect();
    categories.sort();
    categories.dedup();
    assert_eq!(categories.len(), 8);
}

#[test]
fn trl_formats_all_import_to_the_same_pairs() {
    let standard = import_trl(&data("trl_standard.jsonl"), BadLines::Fail)
        .unwrap()
        .0;
    let conversational = import_trl(&data("trl_conversational.jsonl"), BadLines::Fail)
        .unwrap()
        .0;
    let implicit = import_trl(&data("trl_implicit.jsonl"), BadLines::Fail)
        .unwrap()
        .0;
    let plain = |r: &PreferenceRecord| (r.prompt.clone(), r.chosen.clone(), r.rejected.clone());
    let want = ("2+2?".to_string(), "4".to_string(), "5".to_string());
    assert_eq!(plain(&standard[0]), want);
    assert_eq!(standard[0].score_chosen, Some(5.0), "extra fields are kept");
    assert_eq!(plain(&conversational[0]), want);
    assert_eq!(plain(&implicit[0]), want);
    assert_eq!(standard.len(), 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("multi.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"prompt": "a", "chosen": "b", "rejected": "c"}"#,
            "\n",
            r#"{"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "chosen": "b", "rejected": "c"}"#,
            "\n",
            r#"{"prompt": "a", "chosen": "b"}"#,
            "\n"
        ),
    )
    .unwrap();
    let err = import_trl(&path, BadLines::Fail).unwrap_err().to_string();
    assert!(
        err.contains("multi.jsonl:2:") && err.contains("system"),
        "{err}"
    );
    let (pairs, report) = import_trl(&path, BadLines::Skip).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(report.skipped, 2);
    assert!(
        report.errors[1].contains("multi.jsonl:3: missing field `rejected`"),
        "{:?}",
        report.errors
    );
}
