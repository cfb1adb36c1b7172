//! The `srlm` command's output formats, on the tiny committed model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama3")
}

fn srlm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_srlm"))
        .args(args)
        .output()
        .expect("run srlm");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(tiny().join("reference.json")).unwrap()).unwrap()
}

#[test]
fn generate_json_prints_text_and_new_token_ids() {
    let model = tiny();
    let case = &reference()["greedy"][0];
    let (ok, stdout, stderr) = srlm(&[
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--prompt",
        case["prompt"].as_str().unwrap(),
        "--max-new-tokens",
        "20",
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(out["token_ids"], case["new_ids"]);
    assert!(out["text"].is_string());
}

#[test]
fn logprob_and_tokenize_print_json() {
    let model = tiny();
    let case = &reference()["logprob"][0];
    let (ok, stdout, stderr) = srlm(&[
        "logprob",
        "--model",
        model.to_str().unwrap(),
        "--prompt",
        case["prompt"].as_str().unwrap(),
        "--response",
        case["response"].as_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!((out["logprob"].as_f64().unwrap() - case["logprob"].as_f64().unwrap()).abs() < 1e-4);
    assert_eq!(out["tokens"], case["tokens"]);

    let text = "The quick brown fox";
    let (ok, stdout, _) = srlm(&[
        "tokenize",
        "--model",
        model.to_str().unwrap(),
        "--text",
        text,
    ]);
    assert!(ok);
    let ids: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(ids, reference()["logits"][0]["ids"]);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let model = tiny();
    for args in [
        vec!["generate", "--model", "/nonexistent", "--prompt", "hi"],
        vec![
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--prompt",
            "",
        ],
        vec![
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--prompt",
            "hi",
            "--top-p",
            "0",
        ],
        vec![
            "--device",
            "quantum",
            "tokenize",
            "--model",
            model.to_str().unwrap(),
            "--text",
            "x",
        ],
    ] {
        let (ok, _, stderr) = srlm(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(
            stderr.contains("Error") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

fn data_fixture(name: &str) -> String {
    tiny()
        .join("../data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn data_import_inspect_and_ladder_write_sets_that_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let ift = dir.path().join("ift.jsonl");
    let (ok, stdout, stderr) = srlm(&[
        "data",
        "import",
        "sharegpt",
        &data_fixture("sharegpt_truncated.json"),
        "--out",
        ift.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["report"]["pairs"], 2);
    assert!(report["report"]["truncated_at_line"].is_u64());

    let (ok, stdout, stderr) = srlm(&["data", "inspect", ift.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["summary"]["kind"], "ift");
    assert_eq!(summary["summary"]["records"], 2);

    let out = dir.path().join("eft");
    let (ok, stdout, stderr) = srlm(&[
        "data",
        "build-eft",
        "ladder",
        "--ift",
        ift.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--min-answer-words",
        "6",
        "--held-out",
        "0",
    ]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    let ladders = report["train"]["ladders"].as_u64().unwrap() as usize;
    let lines = |name: &str| {
        std::fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines("eft-train.jsonl"), ladders * 5);
    assert_eq!(lines("ift-train.jsonl"), 2);
    assert_eq!(lines("eft-held-out.jsonl"), 0);
    assert!(out.join("report.json").exists());
}

#[test]
fn data_import_bad_line_fails_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("q.jsonl");
    std::fs::write(
        &bad,
        "{\"question_id\": 1, \"turns\": [\"ok\"]}\n{\"turns\": 3}\n",
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let (ok, _, stderr) = srlm(&[
        "data",
        "import",
        "mtbench",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("q.jsonl:2:"), "{stderr}");
    assert!(!out.exists(), "nothing written on failure");
}
