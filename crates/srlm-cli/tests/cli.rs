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

fn metrics(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Four preference pairs (`Count to i.` → `i and done` over `no`) in `dir/aift.jsonl`.
fn write_counting_prefs(dir: &std::path::Path) -> PathBuf {
    let prefs = dir.join("aift.jsonl");
    let lines: Vec<String> = (0..4)
        .map(|i| {
            serde_json::json!({"prompt": format!("Count to {i}."), "chosen": format!("{i} and done"), "rejected": "no"})
                .to_string()
        })
        .collect();
    std::fs::write(&prefs, lines.join("\n") + "\n").unwrap();
    prefs
}

#[test]
fn sft_then_dpo_write_loadable_models_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let ift = dir.path().join("ift.jsonl");
    let lines: Vec<String> = (0..4)
        .map(|i| {
            serde_json::json!({"prompt": format!("Count to {i}."), "response": format!("{i} and done")})
                .to_string()
        })
        .collect();
    std::fs::write(&ift, lines.join("\n") + "\n").unwrap();
    let m1 = dir.path().join("m1");
    let model = tiny();
    let common = [
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        "--dropout",
        "0",
        "--lr",
        "1e-3",
    ];
    let mut args = vec![
        "sft",
        "--model",
        model.to_str().unwrap(),
        "--data",
        ift.to_str().unwrap(),
        "--out",
        m1.to_str().unwrap(),
    ];
    args.extend(common);
    let (ok, stdout, stderr) = srlm(&args);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(report["ift"], 4);
    let steps = metrics(&m1);
    assert_eq!(steps.len(), 2);
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s["step"], i + 1);
        assert!(s["loss"].as_f64().unwrap().is_finite());
        assert!(s["num_tokens"].as_u64().unwrap() > 0);
    }
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(m1.join(file).exists(), "{file} missing");
    }
    // The trained model loads and generates.
    let (ok, _, stderr) = srlm(&[
        "generate",
        "--model",
        m1.to_str().unwrap(),
        "--prompt",
        "Count to 2.",
        "--max-new-tokens",
        "4",
    ]);
    assert!(ok, "{stderr}");

    let prefs = write_counting_prefs(dir.path());
    let m2 = dir.path().join("m2");
    let mut args = vec![
        "dpo",
        "--model",
        m1.to_str().unwrap(),
        "--reference",
        m1.to_str().unwrap(),
        "--data",
        prefs.to_str().unwrap(),
        "--out",
        m2.to_str().unwrap(),
    ];
    args.extend(common);
    let (ok, _, stderr) = srlm(&args);
    assert!(ok, "{stderr}");
    let steps = metrics(&m2);
    assert_eq!(steps.len(), 2);
    // Policy = reference at the first step: loss ln 2, zero margin.
    assert!((steps[0]["loss"].as_f64().unwrap() - std::f64::consts::LN_2).abs() < 1e-4);
    for key in [
        "rewards/chosen",
        "rewards/rejected",
        "rewards/margins",
        "rewards/accuracies",
        "logps/chosen",
        "logps/rejected",
        "grad_norm",
        "learning_rate",
    ] {
        assert!(steps[1][key].is_number(), "{key} missing: {}", steps[1]);
    }
    assert!(m2.join("model.safetensors").exists());
    assert!(
        std::fs::read_dir(m2.join("reference-cache"))
            .unwrap()
            .count()
            > 0
    );

    // A missing data file is a clear error.
    let (ok, _, stderr) = srlm(&[
        "dpo",
        "--model",
        m1.to_str().unwrap(),
        "--reference",
        m1.to_str().unwrap(),
        "--data",
        "/nonexistent/aift.jsonl",
        "--out",
        dir.path().join("m3").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/aift.jsonl") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn dpo_trains_simpo_and_orpo_without_a_reference_and_says_which_losses_need_one() {
    let dir = tempfile::tempdir().unwrap();
    let prefs = write_counting_prefs(dir.path());
    let model = tiny();
    let args = |loss: &str, out: &std::path::Path| -> Vec<String> {
        [
            "dpo",
            "--model",
            model.to_str().unwrap(),
            "--data",
            prefs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--loss",
            loss,
            "--max-steps",
            "2",
            "--batch-size",
            "2",
            "--dropout",
            "0",
            "--lr",
            "1e-3",
        ]
        .map(String::from)
        .to_vec()
    };
    for loss in ["simpo", "orpo"] {
        let out = dir.path().join(loss);
        let argv = args(loss, &out);
        let (ok, _, stderr) = srlm(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(ok, "{loss}: {stderr}");
        let steps = metrics(&out);
        assert_eq!(steps.len(), 2, "{loss}");
        for key in [
            "rewards/margins",
            "rewards/accuracies",
            "logps/chosen",
            "nll_loss",
        ] {
            assert!(
                steps[1][key].is_number(),
                "{loss}: {key} missing: {}",
                steps[1]
            );
        }
        assert_eq!(
            steps[1]["log_odds_ratio"].is_number(),
            loss == "orpo",
            "{}",
            steps[1]
        );
        assert!(out.join("model.safetensors").exists(), "{loss}");
        assert!(
            !out.join("reference-cache").exists(),
            "{loss} runs no reference"
        );
    }
    // DPO needs its reference; SimPO refuses one.
    let argv = args("sigmoid", &dir.path().join("dpo"));
    let (ok, _, stderr) = srlm(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !ok && stderr.contains("--reference") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let mut argv = args("simpo", &dir.path().join("simpo-ref"));
    argv.extend(["--reference".into(), model.to_str().unwrap().into()]);
    let (ok, _, stderr) = srlm(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && stderr.contains("no reference model"), "{stderr}");
    // A preference set is not SFT data.
    let (ok, _, stderr) = srlm(&[
        "sft",
        "--model",
        model.to_str().unwrap(),
        "--data",
        prefs.to_str().unwrap(),
        "--out",
        dir.path().join("sft").to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("kind `aift`"), "{stderr}");
}

/// The tiny model copied into `dir` with room for 4,096 positions (long judge prompts).
fn tiny_4k(dir: &std::path::Path) -> PathBuf {
    let model = dir.join("tiny-4k");
    if !model.exists() {
        std::fs::create_dir_all(&model).unwrap();
        for entry in std::fs::read_dir(tiny()).unwrap().map(Result::unwrap) {
            std::fs::copy(entry.path(), model.join(entry.file_name())).unwrap();
        }
        let text = std::fs::read_to_string(model.join("config.json")).unwrap();
        let patched = text.replace(
            "\"max_position_embeddings\": 128",
            "\"max_position_embeddings\": 4096",
        );
        assert_ne!(text, patched);
        std::fs::write(model.join("config.json"), patched).unwrap();
    }
    model
}

/// `srlm run` on the tiny model (copied with room for long prompts), lenient filters so a
/// random model's noise gets through, one iteration.
fn tiny_run(
    dir: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> (bool, String, String) {
    let model = tiny_4k(dir);
    let seed = tiny().join("../loop/seed.jsonl");
    let sets = [
        format!("model.path={}", model.display()),
        format!("data.seed={}", seed.display()),
        "run.iterations=1".into(),
        // Self-instruction: its units are the ones killed and resumed below.
        "instruct.source=self_instruct".into(),
        "data.held_out_fraction=0.2".into(),
        "data.ladder.max_answer_words=200".into(),
        "data.max_len=1024".into(),
        "instruct.prompts=2".into(),
        "instruct.max_generations=8".into(),
        "instruct.batch=2".into(),
        "instruct.filter.min_words=1".into(),
        "instruct.filter.max_rouge_l=1.01".into(),
        "instruct.filter.keywords=[]".into(),
        "instruct.filter.openings=[]".into(),
        "instruct.filter.drop_truncated=false".into(),
        "judge.method=expected".into(),
        // Room for a random model's candidates to end their turn: cut ones never make a pair.
        "candidates.max_tokens=400".into(),
        "judge.max_tokens=16".into(),
        "candidates.batch=1".into(),
        "judge.batch=1".into(),
        "dpo.train.batch_size=1".into(),
    ];
    let mut args: Vec<String> = vec![
        "run".into(),
        "--quick".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    for s in &sets {
        args.extend(["--set".into(), s.clone()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    srlm(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn run_killed_mid_stage_resumes_to_the_same_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let (ok, stdout, stderr) = tiny_run(tmp.path(), &whole, &[]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("kept=2") && !stdout.contains("pairs=0"),
        "{stdout}"
    );
    for stage in [
        "data",
        "sft",
        "instruct",
        "candidates",
        "judge",
        "pairs",
        "dpo",
    ] {
        assert!(
            stdout.contains(&format!(" {stage} ")),
            "no summary line for {stage}: {stdout}"
        );
    }
    assert!(whole.join("run.log").exists() && whole.join("M2/model.safetensors").exists());

    // Killed (abort: no clean-up, like kill -9) inside three stages in turn, then finished.
    let killed = tmp.path().join("killed");
    for point in ["1:instruct:1", "1:candidates:1", "1:judge:1"] {
        let (ok, _, stderr) = tiny_run(tmp.path(), &killed, &["--abort-after", point]);
        assert!(!ok, "{point} should have aborted: {stderr}");
    }
    let (ok, _, stderr) = tiny_run(tmp.path(), &killed, &[]);
    assert!(ok, "{stderr}");
    for file in [
        "iter1/prompts-all.jsonl",
        "iter1/prompts.jsonl",
        "iter1/candidates.jsonl",
        "iter1/judgements.jsonl",
        "iter1/aift.jsonl",
        "M2/model.safetensors",
    ] {
        assert!(
            std::fs::read(whole.join(file)).unwrap() == std::fs::read(killed.join(file)).unwrap(),
            "{file} differs after the kills"
        );
    }
    // Other settings in the same folder are refused with a clear message.
    let (ok, _, stderr) = tiny_run(tmp.path(), &killed, &["--set", "candidates.n=3"]);
    assert!(!ok && stderr.contains("another configuration"), "{stderr}");
}

#[test]
fn eval_compares_listed_models_into_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_4k(tmp.path());
    let held_out = tmp.path().join("held.jsonl");
    let lines: Vec<String> = (0..3)
        .map(|s| serde_json::json!({"prompt": "q", "response": format!("r{s}"), "judgement": "Score: 1", "score": s}).to_string())
        .collect();
    std::fs::write(&held_out, lines.join("\n") + "\n").unwrap();
    let out = tmp.path().join("report");
    let m = format!("base={}", model.display());
    let n = format!("new={}", model.display());
    // The evaluation of `base` and a model named `new`, journaled under OUT/journal.
    let mt_bench = data_fixture("mt_bench.jsonl");
    let eval = |new: &str| {
        srlm(&[
            "eval",
            "--model",
            &m,
            "--model",
            new,
            "--held-out",
            held_out.to_str().unwrap(),
            "--eval-prompts",
            &mt_bench,
            "--prompts",
            "2",
            "--held-out-prompts",
            "1",
            "--samples",
            "1",
            "--max-tokens",
            "4",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let (ok, stdout, stderr) = eval(&n);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("report.md"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| base |") && md.contains("| new |") && md.contains("| new vs base |"),
        "{md}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["eval_prompts"], 2);
    // A local judge scores each answer alone (`--pair-method auto`).
    assert_eq!(json["head_to_head_method"], "pointwise");
    // Every answer and verdict was journaled; a rerun reuses them and gives the same report.
    let journal = out.join("journal");
    // A model's journals are named by its name and fingerprint: `base-<16 hex>-answers.jsonl`.
    let journals = |suffix: &str| -> Vec<String> {
        std::fs::read_dir(&journal)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(suffix))
            .collect()
    };
    for suffix in ["-judging.jsonl", "-answers.jsonl"] {
        for name in journals(suffix) {
            let text = std::fs::read_to_string(journal.join(&name)).unwrap();
            assert!(!text.is_empty(), "{name}");
        }
    }
    // The head-to-head judge (`new`, the default's fallback) journals under its key too.
    let scores = |journals: Vec<String>| {
        journals
            .iter()
            .filter(|n| n.starts_with("scores-new-"))
            .count()
    };
    assert_eq!(scores(journals(".jsonl")), 1);
    let mut answers = journals("-answers.jsonl");
    answers.sort();
    assert!(
        answers.len() == 2 && answers[0].starts_with("base-") && answers[1].starts_with("new-"),
        "{answers:?}"
    );
    let before = std::fs::read_to_string(out.join("report.json")).unwrap();
    let sizes = |dir: &std::path::Path| -> Vec<u64> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .collect();
        v.sort_unstable();
        v
    };
    let journal_sizes = sizes(&journal);
    let (ok, _, stderr) = eval(&n);
    assert!(ok, "{stderr}");
    assert_eq!(sizes(&journal), journal_sizes, "nothing generated twice");
    assert_eq!(
        std::fs::read_to_string(out.join("report.json")).unwrap(),
        before
    );
    let (ok, _, stderr) = srlm(&["eval", "--model", &m, "--max-tokens", "0", "--out", "x"]);
    assert!(!ok && stderr.contains("max-tokens"), "{stderr}");
    // Redrawn from its JSON alone, the report is the same.
    std::fs::remove_file(out.join("report.md")).unwrap();
    std::fs::remove_file(out.join("win_rates.png")).unwrap();
    let json_path = out.join("report.json");
    let (ok, _, stderr) = srlm(&["eval", "--from-json", json_path.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("report.md")).unwrap(), md);
    assert!(out.join("win_rates.png").exists());
    // A malformed model spec is a clear error.
    let (ok, _, stderr) = srlm(&["eval", "--model", "nopath", "--out", out.to_str().unwrap()]);
    assert!(!ok && stderr.contains("NAME=PATH"), "{stderr}"); // Another model under the same name gets journals of its own: before, `new-answers.jsonl`
                                                              // was keyed by the name and the generation settings only, and its answers were reused.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    for entry in std::fs::read_dir(&model).unwrap().map(Result::unwrap) {
        std::fs::copy(entry.path(), other.join(entry.file_name())).unwrap();
    }
    let shard = other.join("model-00001-of-00005.safetensors");
    let mut weights = srlm::model::WeightMap::new("shard");
    srlm::model::read_safetensors(&shard, &mut weights).unwrap();
    for tensor in weights.tensors.values_mut() {
        tensor.data.iter_mut().for_each(|v| *v *= 1.5);
    }
    srlm::model::write_safetensors(&shard, &weights).unwrap();
    let renamed = format!("new={}", other.display());
    let (ok, _, stderr) = eval(&renamed);
    assert!(ok, "{stderr}");
    let mut after = journals("-answers.jsonl");
    after.sort();
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.iter().filter(|n| n.starts_with("new-")).count() == 2);
    // `new` judges the head-to-heads: its other weights score afresh, in a journal of their own.
    assert_eq!(scores(journals(".jsonl")), 2);
}

#[test]
fn bench_measures_each_work_in_its_own_process_and_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_4k(dir.path());
    let model = model.to_str().unwrap();
    let json = dir.path().join("bench.jsonl");
    let (ok, stdout, stderr) = srlm(&[
        "bench",
        "--model",
        model,
        "--work",
        "generation,sft,sft-eft,dpo",
        "--batches",
        "1,2",
        "--reps",
        "1",
        "--fused",
        "swiglu,rms_norm",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let records: Vec<Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let works: Vec<(&str, u64)> = records
        .iter()
        .map(|r| (r["work"].as_str().unwrap(), r["batch"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        works,
        [
            ("prefill", 1),
            ("decode", 1),
            ("prefill", 2),
            ("decode", 2),
            ("sft", 4),
            ("sft-eft", 4),
            ("dpo", 4)
        ]
    );
    for r in &records {
        assert_eq!(r["side"], "srlm");
        let rate = r["tokens_per_s"].as_f64().unwrap();
        assert!(rate.is_finite() && rate > 0.0, "{r}");
        assert!(r["peak_rss_mib"].as_f64().unwrap() > 0.0, "{r}");
        // The counting allocator saw the model's weights at least.
        assert!(r["peak_heap_mib"].as_f64().unwrap() > 0.0, "{r}");
        // The measuring processes ran with the fused operations asked for.
        assert_eq!(r["fused"], "rms_norm,swiglu", "{r}");
        let training = matches!(r["work"].as_str(), Some("sft" | "sft-eft" | "dpo"));
        assert_eq!(r["phases"].is_array(), training, "{r}");
        if training {
            let phases = r["phases"].as_array().unwrap();
            assert!(phases.iter().all(|p| p.as_f64().unwrap() >= 0.0), "{r}");
            // Forward and backward take time; the step's total is what tokens/s divides.
            assert!(phases[0].as_f64().unwrap() > 0.0 && phases[1].as_f64().unwrap() > 0.0);
        }
    }
    assert!(stdout.contains("| decode 32 | 2 |"), "{stdout}");
    assert!(stdout.contains("| SFT step 4 × 256 | 4 |"), "{stdout}");
    assert!(
        stdout.contains("| SFT step 4 × (448 + 96), EFT shape | 4 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fused operations in srlm: rms_norm,swiglu"),
        "{stdout}"
    );
    let (ok, _, stderr) = srlm(&["bench", "--model", model, "--fused", "flash"]);
    assert!(!ok && stderr.contains("`flash`"), "{stderr}");
    let (ok, _, stderr) = srlm(&["bench", "--model", model, "--generation", "rms_norm"]);
    assert!(
        !ok && stderr.contains("`rms_norm`") && stderr.contains("SRLM_GENERATION"),
        "{stderr}"
    );

    let (ok, _, stderr) = srlm(&["bench", "--model", model, "--batches", "0"]);
    assert!(!ok && stderr.contains("--batches"), "{stderr}");
    let missing = dir.path().join("missing.gguf");
    let (ok, _, stderr) = srlm(&[
        "bench",
        "--model",
        missing.to_str().unwrap(),
        "--work",
        "sft",
    ]);
    assert!(!ok && stderr.contains("missing.gguf"), "{stderr}");
}

#[test]
fn bench_answers_samples_four_answers_per_question_with_either_batching() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny();
    let questions = data_fixture("mt_bench.jsonl");
    for paths in ["default", "all"] {
        let json = dir.path().join(format!("answers-{paths}.jsonl"));
        let (ok, stdout, stderr) = srlm(&[
            "bench",
            "--model",
            model.to_str().unwrap(),
            "--work",
            "answers",
            "--batches",
            "3",
            "--new-tokens",
            "6",
            "--questions",
            "2",
            "--questions-file",
            &questions,
            "--reps",
            "1",
            "--generation",
            paths,
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(ok, "{stderr}");
        let record: Value =
            serde_json::from_str(std::fs::read_to_string(&json).unwrap().trim()).unwrap();
        assert_eq!(record["work"], "answers");
        assert_eq!(record["batch"], 3);
        assert!(record["tokens_per_s"].as_f64().unwrap() > 0.0, "{record}");
        let continuous = record["generation"]
            .as_str()
            .unwrap()
            .contains("continuous_batching");
        assert_eq!(continuous, paths == "all", "{record}");
        // Generation's paths are not fused operations: every fused operation stays on.
        assert!(
            record["fused"].as_str().unwrap().contains("few_rows"),
            "{record}"
        );
        assert!(
            stdout.contains("| answers: 4 sampled per question, ≤ 6 tokens | 3 |"),
            "{stdout}"
        );
    }
    // More questions than the file holds, or no file: errors naming it.
    let (ok, _, stderr) = srlm(&[
        "bench",
        "--model",
        model.to_str().unwrap(),
        "--work",
        "answers",
        "--questions",
        "50",
        "--questions-file",
        &questions,
    ]);
    assert!(
        !ok && stderr.contains("mt_bench.jsonl holds 3 questions, 50 asked"),
        "{stderr}"
    );
    let (ok, _, stderr) = srlm(&[
        "bench",
        "--model",
        model.to_str().unwrap(),
        "--work",
        "answers",
        "--questions-file",
        "nowhere.jsonl",
    ]);
    assert!(!ok && stderr.contains("nowhere.jsonl"), "{stderr}");
}

#[test]
fn device_on_the_command_line_overrides_the_run_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("run.toml");
    std::fs::write(&config, "[run]\ndevice = \"wgpu\"\n").unwrap();
    let config = config.to_str().unwrap();
    let device_line = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("device = "))
            .map(str::to_string)
    };
    // The file's device stands without --device ...
    let (ok, out, err) = srlm(&["run", "--config", config, "--print-config"]);
    assert!(ok, "{err}");
    assert_eq!(device_line(&out).as_deref(), Some("device = \"wgpu\""));
    // ... and --device cpu wins over it (it used to be taken for "not given").
    let (ok, out, err) = srlm(&[
        "--device",
        "cpu",
        "run",
        "--config",
        config,
        "--print-config",
    ]);
    assert!(ok, "{err}");
    assert_eq!(device_line(&out).as_deref(), Some("device = \"cpu\""));
}

#[test]
fn instruct_build_verifiable_eft_and_eval_instruction_following() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("instructed.jsonl");
    let (ok, stdout, stderr) = srlm(&[
        "data",
        "instruct",
        "--tasks",
        &data_fixture("mt_bench.jsonl"),
        "--out",
        set.to_str().unwrap(),
        "--count",
        "3",
        "--seed",
        "5",
    ]);
    assert!(ok, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["prompts"], 3);
    let lines: Vec<Value> = std::fs::read_to_string(&set)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        // IFEval's fields, the task, and the prompt as the task with instruction text appended.
        let task = l["task"].as_str().unwrap();
        assert!(l["prompt"].as_str().unwrap().starts_with(task));
        assert_eq!(
            l["instruction_id_list"].as_array().unwrap().len(),
            l["kwargs"].as_array().unwrap().len()
        );
    }
    let (ok, _, stderr) = srlm(&[
        "data",
        "instruct",
        "--tasks",
        &data_fixture("mt_bench.jsonl"),
        "--out",
        set.to_str().unwrap(),
        "--exclude-kinds",
        "language:response_language",
    ]);
    assert!(!ok && stderr.contains("unknown instruction id"), "{stderr}");

    let model = tiny_4k(tmp.path());
    let eft = tmp.path().join("eft");
    let (ok, stdout, stderr) = srlm(&[
        "data",
        "build-eft",
        "verifiable",
        "--instructed",
        set.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out-dir",
        eft.to_str().unwrap(),
        "--answers",
        "3",
        "--max-new-tokens",
        "6",
        "--held-out",
        "0",
    ]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    // Three prompts, three answers each, every one journaled whether kept or not.
    assert_eq!(report["report"]["prompts"], 3);
    assert_eq!(report["report"]["answers"], 9);
    let answers = std::fs::read_to_string(eft.join("answers.jsonl")).unwrap();
    assert_eq!(answers.lines().count(), 3);
    let train = std::fs::read_to_string(eft.join("eft-train.jsonl")).unwrap();
    assert_eq!(
        train.lines().count() as u64,
        report["train"].as_u64().unwrap()
    );

    let out = tmp.path().join("report");
    let m = format!("tiny={}", model.display());
    let (ok, _, stderr) = srlm(&[
        "eval",
        "--model",
        &m,
        "--instructed",
        set.to_str().unwrap(),
        "--prompts",
        "0",
        "--held-out-prompts",
        "0",
        "--reference-prompts",
        "0",
        "--max-tokens",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("## Instruction following, judged by no model"),
        "{md}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["instruction_following"][0]["prompts"], 3);
}

/// Issue 41, finding 6: arguments that did nothing or lost data, silently, are refused with
/// their name before any model loads or any file is written.
#[test]
fn silent_arguments_are_refused_by_name() {
    let model = tiny();
    let model = model.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ift = tmp.path().join("ift.jsonl");
    std::fs::write(&ift, "{\"prompt\": \"a\", \"response\": \"b\"}\n").unwrap();
    let same = tmp.path().join("both.jsonl");
    let (ift, same) = (ift.to_str().unwrap(), same.to_str().unwrap());
    let a = format!("A={model}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["judge", "--model", model, "--samples", "0"],
            "--samples",
        ),
        (
            vec!["judge", "--model", model, "--max-new-tokens", "0"],
            "--max-new-tokens",
        ),
        (
            vec![
                "generate",
                "--model",
                model,
                "--prompt",
                "hi",
                "--max-new-tokens",
                "0",
            ],
            "--max-new-tokens",
        ),
        (
            vec!["data", "split", ift, "--train", same, "--held-out", same],
            "the same file",
        ),
        (
            vec!["eval", "--model", &a, "--model", &a, "--out", same],
            "given twice",
        ),
    ];
    for (args, named) in cases {
        let (ok, _, stderr) = srlm(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(
            stderr.contains(named) && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    assert!(!std::path::Path::new(same).exists(), "nothing was written");
}

/// Issue 41, finding 2: a reference model with another tokenizer was accepted, and DPO trained on
/// the difference of log-probs of unrelated text. The tiny model with two vocabulary ids swapped
/// (same size, other ids for the same text) is refused as a reference, naming the reason.
#[test]
fn a_reference_with_another_tokenizer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    for entry in std::fs::read_dir(tiny()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, other.join(path.file_name().unwrap())).unwrap();
    }
    let path = other.join("tokenizer.json");
    let mut tokenizer: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let vocab = tokenizer["model"]["vocab"].as_object_mut().unwrap();
    // The space marker and "!": every space of a text gets another id.
    let (space, bang) = (vocab["Ġ"].clone(), vocab["!"].clone());
    vocab.insert("Ġ".into(), bang);
    vocab.insert("!".into(), space);
    std::fs::write(&path, tokenizer.to_string()).unwrap();
    let prefs = write_counting_prefs(dir.path());
    let out = dir.path().join("out");
    let (ok, _, stderr) = srlm(&[
        "dpo",
        "--model",
        tiny().to_str().unwrap(),
        "--reference",
        other.to_str().unwrap(),
        "--data",
        prefs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok, "a reference with another tokenizer must be refused");
    assert!(
        stderr.contains("tokenizer is not the policy's") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(!out.join("model.safetensors").exists());
}

#[test]
fn sft_and_dpo_with_lora_and_checkpointing_write_merged_models_and_peft_adapters() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny();
    let prefs = write_counting_prefs(dir.path());
    let out = dir.path().join("dpo-lora");
    let (ok, _, stderr) = srlm(&[
        "dpo",
        "--model",
        model.to_str().unwrap(),
        "--data",
        prefs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        "--dropout",
        "0",
        "--lr",
        "1e-2",
        "--lora",
        "4",
        "--lora-targets",
        "q_proj,v_proj",
        "--checkpointing",
    ]);
    assert!(ok, "{stderr}");
    assert!(out.join("model.safetensors").exists(), "the merged model");
    let adapter: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("adapter/adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(adapter["r"], 4);
    assert_eq!(adapter["lora_alpha"], 8.0);
    assert_eq!(
        adapter["target_modules"],
        serde_json::json!(["q_proj", "v_proj"])
    );
    assert_eq!(metrics(&out).len(), 2);
    // Bad LoRA settings are errors naming what is wrong, before any training.
    for (flags, expected) in [
        (vec!["--lora", "0"], "rank must be at least 1"),
        (
            vec!["--lora", "4", "--lora-targets", "lm_head"],
            "unknown LoRA target \"lm_head\"",
        ),
        (
            vec!["--lora", "4", "--checkpointing", "--dropout", "0.1"],
            "checkpointing needs dropout 0",
        ),
    ] {
        let bad = dir.path().join("bad");
        let mut args = vec![
            "sft",
            "--model",
            model.to_str().unwrap(),
            "--data",
            prefs.to_str().unwrap(),
            "--out",
            bad.to_str().unwrap(),
        ];
        args.extend(flags);
        let (ok, _, stderr) = srlm(&args);
        assert!(!ok && stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn plan_says_whether_a_run_fits_and_training_refuses_one_that_does_not() {
    let dpo_8b = [
        "plan",
        "--model",
        "random:llama-3-8b",
        "--work",
        "dpo",
        "--seq",
        "1024",
        "--batch-size",
        "1",
        "--micro-batch-tokens",
        "2048",
        "--dropout",
        "0",
        "--memory",
        "80",
    ];
    let mut lora = dpo_8b.to_vec();
    lora.extend(["--lora", "16", "--checkpointing"]);
    let (ok, out, err) = srlm(&lora);
    assert!(ok, "{err}");
    assert!(out.contains("LoRA adapters (41.9 M parameters)"), "{out}");
    assert!(out.contains("\nfits: the peak is"), "{out}");
    let (ok, out, err) = srlm(&dpo_8b);
    assert!(ok, "{err}");
    assert!(out.contains("does not fit"), "{out}");
    // Over a bf16 base the projections take half: the 8B step fits 24 GiB.
    let mut bf16 = lora.clone();
    bf16.extend(["--lora-base", "bf16"]);
    let memory = bf16.iter().position(|a| *a == "80").unwrap();
    bf16[memory] = "24";
    let (ok, out, err) = srlm(&bf16);
    assert!(ok, "{err}");
    assert!(
        out.contains("weights (f32, adapted projections bf16") && out.contains("\nfits:"),
        "{out}"
    );
    let mut fp8 = lora.clone();
    fp8.extend(["--lora-base", "fp8"]);
    let (ok, _, err) = srlm(&fp8);
    assert!(!ok && err.contains("fp8") && err.contains("bf16"), "{err}");
    let (ok, _, err) = srlm(&["plan", "--model", "random:llama-9b"]);
    assert!(
        !ok && err.contains("llama-9b") && err.contains("llama-3-8b"),
        "{err}"
    );

    // `srlm sft` checks the same plan before it trains, and refuses with the table.
    let dir = tempfile::tempdir().unwrap();
    let ift = dir.path().join("ift.jsonl");
    std::fs::write(&ift, "{\"prompt\": \"Hi.\", \"response\": \"Hello.\"}\n").unwrap();
    let out_dir = dir.path().join("m1");
    let model = tiny();
    let sft = |memory: &str| {
        srlm(&[
            "sft",
            "--model",
            model.to_str().unwrap(),
            "--data",
            ift.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--max-steps",
            "1",
            "--memory",
            memory,
        ])
    };
    let (ok, _, err) = sft("0.00001");
    assert!(!ok, "a run planned past its memory must not start");
    assert!(
        err.contains("would run out of memory") && err.contains("**peak**"),
        "{err}"
    );
    assert!(!out_dir.join("model.safetensors").exists());
    let (ok, _, err) = sft("1");
    assert!(ok, "{err}");
    assert!(out_dir.join("model.safetensors").exists());
}
