//! `evaluate_run` end to end on a run folder holding the tiny model as M0, M1 and M2.

use srlm_data::{EftRecord, EvalPrompt};
use srlm_eval::{evaluate_run, write_report, EvalOptions, PairMethod};
use srlm_loop::{RunConfig, RunDir};
use srlm_model::{device_from_env, LanguageModel};
use srlm_verifiable::InstructedPrompt;

#[test]
fn evaluates_every_model_and_matchup_of_a_run() {
    let tiny = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tiny-llama3");
    let tmp = tempfile::tempdir().unwrap();
    // The tiny model with room for judge prompts (its rotary embedding is computed).
    let mut lm =
        LanguageModel::load(&tiny, &device_from_env("SRLM_TEST_DEVICE", "cpu").unwrap()).unwrap();
    lm.config.max_position_embeddings = 4096;
    let m0 = tmp.path().join("m0");
    lm.save_pretrained(&m0).unwrap();
    let mut config = RunConfig::quick();
    config.model.path = m0;
    config.data.verifiable.held_out_kinds = vec!["punctuation:no_comma".into()];
    // The evaluation judges as the run's [judge] says (2 samples, not the default 3).
    config.judge.samples = 2;
    config.judge.max_tokens = 4;
    config.run.generation_batch = 4;
    let dir = RunDir::open(&tmp.path().join("run"), &config).unwrap();
    dir.save_model(1, &lm).unwrap();
    dir.save_model(2, &lm).unwrap();
    // The run's held-out instructed prompts: its instruction-following section reads them.
    let no_comma =
        srlm_verifiable::Instruction::from_kwargs("punctuation:no_comma", &serde_json::Map::new())
            .unwrap();
    let instructed: Vec<InstructedPrompt> = ["hi", "yo"]
        .iter()
        .enumerate()
        .map(|(i, task)| InstructedPrompt::new(i, task, std::slice::from_ref(&no_comma)))
        .collect();
    dir.write_records(&dir.instructed_eval(), &instructed)
        .unwrap();
    let held_out: Vec<EftRecord> = (0..3)
        .flat_map(|p| {
            (0..3).map(move |s| EftRecord {
                prompt: format!("q{p}"),
                response: format!("r{s}"),
                judgement: format!("Score: {s}"),
                score: s as f64,
                origin: None,
            })
        })
        .collect();
    dir.write_records(&dir.data("eft-held-out.jsonl"), &held_out)
        .unwrap();
    let prompts = vec![
        EvalPrompt {
            id: "1".into(),
            category: Some("a".into()),
            turns: vec!["hi".into()],
        },
        EvalPrompt {
            id: "2".into(),
            category: Some("b".into()),
            turns: vec!["yo".into()],
        },
    ];
    let eval_path = tmp.path().join("prompts.jsonl");
    let run = tmp.path().join("run");
    dir.write_records(&eval_path, &prompts).unwrap();
    let options = EvalOptions {
        held_out_prompts: 2,
        eval_prompts: eval_path,
        max_eval_prompts: 10,
        answer_max_tokens: 4,
        ..EvalOptions::default()
    };
    let report = evaluate_run(&run, &options).unwrap();
    let names: Vec<&str> = report.judge.iter().map(|j| j.model.as_str()).collect();
    assert_eq!(names, ["M0", "M1", "M2"]);
    let following: Vec<(&str, usize)> = report
        .instruction_following
        .iter()
        .map(|f| (f.model.as_str(), f.prompts))
        .collect();
    assert_eq!(following, [("M0", 2), ("M1", 2), ("M2", 2)]);
    assert_eq!(report.held_out_kinds, ["punctuation:no_comma"]);
    for j in &report.judge {
        assert_eq!(j.metrics.groups, 2);
        assert_eq!(
            j.parse.samples,
            2 * 3 * 2,
            "2 prompts × 3 responses × 2 samples"
        );
    }
    let matchups: Vec<(&str, &str)> = report
        .head_to_head
        .iter()
        .map(|m| (m.a.as_str(), m.b.as_str()))
        .collect();
    assert_eq!(matchups, [("M1", "M0"), ("M2", "M1"), ("M2", "M0")]);
    assert!(report
        .head_to_head
        .iter()
        .all(|m| m.overall.n + m.overall.unparsed == 2 && m.by_category.len() == 2));
    // One fixed judge for every matchup: M1 by default, never the latest model (M2); a local
    // judge scores each answer alone (pointwise), each model's answers once.
    assert_eq!(report.head_to_head_judge.as_deref(), Some("M1"));
    assert_eq!(report.head_to_head_method, Some(PairMethod::Pointwise));
    let scored: Vec<(&str, &str, usize)> = report
        .answer_scores
        .iter()
        .map(|s| (s.model.as_str(), s.prompts.as_str(), s.scores.len()))
        .collect();
    assert_eq!(
        scored,
        [("M0", "eval", 2), ("M1", "eval", 2), ("M2", "eval", 2)]
    );
    // Options override the run's [judge]: one sample each.
    let one_sample = evaluate_run(
        &run,
        &EvalOptions {
            judge: Some(srlm_loop::JudgeSection {
                samples: 1,
                ..config.judge.clone()
            }),
            max_eval_prompts: 0,
            reference_prompts: 0,
            ..options.clone()
        },
    )
    .unwrap();
    assert!(one_sample.judge.iter().all(|j| j.parse.samples == 2 * 3));
    // A head-to-head judge named by the caller must be an evaluated model (only the default,
    // M1, falls back).
    let err = evaluate_run(
        &run,
        &EvalOptions {
            held_out_prompts: 0,
            pair_judge: srlm_eval::PairJudge::Evaluated("nosuch".into()),
            ..options.clone()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("`nosuch` is not an evaluated model"),
        "{err}"
    );
    // Asked for, the pairwise protocol: no scores, the same matchups.
    let pairwise = evaluate_run(
        &run,
        &EvalOptions {
            held_out_prompts: 0,
            pair_method: PairMethod::Pairwise,
            ..options.clone()
        },
    )
    .unwrap();
    assert_eq!(pairwise.head_to_head_method, Some(PairMethod::Pairwise));
    assert!(pairwise.answer_scores.is_empty());
    assert_eq!(pairwise.head_to_head.len(), 3);
    assert!(report.iterations.is_empty());
    let out = run.join("report");
    write_report(&out, &report).unwrap();
    assert!(out.join("report.md").exists() && out.join("win_rates.png").exists());
    // Not a run folder: a clear error.
    let err = evaluate_run(&tmp.path().join("nowhere"), &options).unwrap_err();
    assert!(err.to_string().contains("config.toml"), "{err}");
}

/// A run configured for a device this build cannot use is evaluated on the device given.
#[test]
fn a_run_is_evaluated_on_the_device_given_over_its_configured_one() {
    let tiny = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tiny-llama3");
    let tmp = tempfile::tempdir().unwrap();
    let device = device_from_env("SRLM_TEST_DEVICE", "cpu").unwrap();
    let lm = LanguageModel::load(&tiny, &device).unwrap();
    let mut config = RunConfig::quick();
    config.model.path = tiny;
    config.run.device = "wgpu:97".into();
    let dir = RunDir::open(&tmp.path().join("run"), &config).unwrap();
    dir.save_model(1, &lm).unwrap();
    let options = EvalOptions {
        held_out_prompts: 0,
        max_eval_prompts: 0,
        reference_prompts: 0,
        ..EvalOptions::default()
    };
    let run = tmp.path().join("run");
    assert!(
        evaluate_run(&run, &options).is_err(),
        "wgpu:97 is not a device here"
    );
    let report = srlm_eval::evaluate_run_on(&run, Some(&device), &options).unwrap();
    assert!(report.judge.is_empty() && report.head_to_head.is_empty());
}
