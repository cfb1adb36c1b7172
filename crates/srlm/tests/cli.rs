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
