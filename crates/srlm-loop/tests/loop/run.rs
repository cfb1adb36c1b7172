//! The whole loop on the tiny model: every stage and file, counts that add up, and runs stopped
//! at points inside each stage (with a torn journal line, as a kill mid-write leaves) that,
//! started again, end with the outputs of an uninterrupted run.

use std::path::Path;

use srlm_data::split::normalize_prompt;
use srlm_data::{read_jsonl, BadLines, EftRecord, IftRecord, PreferenceRecord};
use srlm_loop::HeldOutDpo;
use srlm_loop::{
    CandidateSet, FilterConfig, GeneratedInstruction, JudgeMethod, JudgedSet, LogObserver,
    LoopError, NewPrompt, Observer, PromptSource, RougePool, SeedPrompt, SelfRewardingRun,
};
use srlm_model::{read_safetensors, WeightMap};

use crate::common::{
    configured_judges, seed_file, serial, tiny_config, tiny_model, Recorder, Scripted, StopAt,
};

fn records<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    if std::fs::metadata(path).unwrap().len() == 0 {
        return Vec::new();
    }
    read_jsonl(path, BadLines::Fail).unwrap().0
}

const OUTPUTS: &[&str] = &[
    "data/seed-answers.jsonl",
    "data/sft-ift.jsonl",
    "data/sft-eft.jsonl",
    "data/eft-held-out.jsonl",
    "data/seed-prompts.jsonl",
    "iter1/prompts-all.jsonl",
    "iter1/prompts.jsonl",
    "iter1/candidates.jsonl",
    "iter1/judgements.jsonl",
    "iter1/aift.jsonl",
    "iter2/prompts-all.jsonl",
    "iter2/prompts.jsonl",
    "iter2/candidates.jsonl",
    "iter2/judgements.jsonl",
    "iter2/aift.jsonl",
];

fn weights(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let mut w = WeightMap::new("test");
    read_safetensors(&dir.join("model.safetensors"), &mut w).unwrap();
    w.tensors.into_iter().map(|(k, v)| (k, v.data)).collect()
}

#[test]
fn scripted_run_writes_every_file_and_counts_add_up() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(&tiny_model(tmp.path()), &seed_file());
    let root = tmp.path().join("run");
    let run = SelfRewardingRun::open(&root, config.clone()).unwrap();
    let mut recorder = Recorder::default();
    let outcome = run
        .execute_with(
            &mut recorder,
            &mut Scripted::default(),
            &mut configured_judges(&config),
        )
        .unwrap();

    for file in OUTPUTS.iter().chain(&["config.toml", "metrics.jsonl"]) {
        assert!(root.join(file).exists(), "{file} missing");
    }
    for m in ["M1", "M2", "M3"] {
        assert!(
            root.join(m).join("model.safetensors").exists(),
            "{m} missing"
        );
        assert!(root.join(m).join("tokenizer.json").exists());
    }
    assert_eq!(outcome.models.len(), 3);
    // The default EFT builder is the natural one; held-out ladders are built beside it.
    let origin = |r: &EftRecord| r.origin.clone().unwrap_or_default();
    let eft: Vec<EftRecord> = records(&root.join("data/sft-eft.jsonl"));
    assert!(!eft.is_empty());
    assert!(
        eft.iter().all(|r| origin(r).starts_with("natural:")),
        "{eft:?}"
    );
    let held: Vec<EftRecord> = records(&root.join("data/eft-held-out.jsonl"));
    assert!(held.iter().any(|r| origin(r).starts_with("ladder:")));
    for leftover in [
        "data/seed-answers.journal",
        "iter1/prompts.journal",
        "iter1/candidates.journal",
        "iter1/judgements.journal",
        "sft/checkpoints",
    ] {
        assert!(!root.join(leftover).exists(), "{leftover} left behind");
    }
    let stages: Vec<(usize, &str)> = outcome
        .summaries
        .iter()
        .map(|s| (s.iteration, s.stage.as_str()))
        .collect();
    let mut expected = vec![(0, "seed-answers"), (0, "data"), (0, "sft")];
    for t in 1..=2 {
        for s in ["instruct", "candidates", "judge", "pairs", "dpo"] {
            expected.push((t, s));
        }
    }
    assert_eq!(stages, expected);

    let filter = FilterConfig::default();
    let mut known = RougePool::new();
    for p in records::<SeedPrompt>(&root.join("data/seed-prompts.jsonl")) {
        known.push(&p.prompt);
    }
    for t in 1..=2 {
        let dir = root.join(format!("iter{t}"));
        let all: Vec<GeneratedInstruction> = records(&dir.join("prompts-all.jsonl"));
        let prompts: Vec<NewPrompt> = records(&dir.join("prompts.jsonl"));
        let summary = &outcome
            .summaries
            .iter()
            .find(|s| s.iteration == t && s.stage == "instruct")
            .unwrap()
            .stats;
        assert_eq!(summary["generated"], all.len());
        let rejected: u64 = summary["rejected"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(all.len(), prompts.len() + rejected as usize);
        assert_eq!(
            prompts.len(),
            config.instruct.prompts,
            "the scripted writer gives enough"
        );
        assert!(
            summary["rejected"]["keyword"].as_u64().unwrap() > 0,
            "{summary}"
        );
        assert!(
            summary["rejected"]["too_short"].as_u64().unwrap() > 0,
            "{summary}"
        );
        // Every kept prompt passes every rule against everything known before it (seed and
        // earlier iterations included).
        for p in &prompts {
            assert_eq!(filter.check(&p.prompt, &known), Ok(()), "{}", p.prompt);
            known.push(&p.prompt);
        }
        let candidates: Vec<CandidateSet> = records(&dir.join("candidates.jsonl"));
        assert_eq!(candidates.len(), prompts.len());
        assert!(candidates
            .iter()
            .all(|c| c.responses.len() == config.candidates.n));
        let judged: Vec<JudgedSet> = records(&dir.join("judgements.jsonl"));
        assert_eq!(
            judged.iter().map(|j| &j.id).collect::<Vec<_>>(),
            candidates.iter().map(|c| &c.id).collect::<Vec<_>>()
        );
        for (j, c) in judged.iter().zip(&candidates) {
            for (r, text) in j.responses.iter().zip(&c.responses) {
                assert_eq!(r.response, text.text);
                assert_eq!(r.judgement.samples.len(), config.judge.samples);
                // The scripted judge scores by word count (mod 6).
                if let Some(score) = r.judgement.score {
                    assert_eq!(score, (r.response.split_whitespace().count() % 6) as f64);
                }
            }
        }
        let pairs: Vec<PreferenceRecord> = records(&dir.join("aift.jsonl"));
        let report = &outcome
            .summaries
            .iter()
            .find(|s| s.iteration == t && s.stage == "pairs")
            .unwrap()
            .stats;
        assert_eq!(report["pairs"], pairs.len());
        assert_eq!(
            report["pairs"].as_u64().unwrap()
                + report["ties"].as_u64().unwrap()
                + report["too_few_judged"].as_u64().unwrap(),
            prompts.len() as u64
        );
        assert!(!pairs.is_empty());
        for p in &pairs {
            assert!(p.score_chosen > p.score_rejected);
            assert_eq!(p.iteration, Some(t as u32));
        }
    }
    // DPO changed the model.
    assert_ne!(weights(&root.join("M1")), weights(&root.join("M2")));
    // The stage starts were reported with their sizes.
    assert!(recorder
        .started
        .iter()
        .any(|(t, s, total, done)| *t == 1 && s == "candidates" && *total == 3 && *done == 0));
    assert_eq!(recorder.finished.len(), 13);
}

fn assert_same_outputs(a: &Path, b: &Path) {
    for file in OUTPUTS {
        assert_eq!(
            std::fs::read_to_string(a.join(file)).unwrap(),
            std::fs::read_to_string(b.join(file)).unwrap(),
            "{file} differs"
        );
    }
    for m in ["M1", "M2", "M3"] {
        let (x, y) = (weights(&a.join(m)), weights(&b.join(m)));
        assert_eq!(x.len(), y.len());
        for ((name, u), (_, v)) in x.iter().zip(&y) {
            let diff = u
                .iter()
                .zip(v)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max);
            assert!(diff <= 1e-6, "{m} {name} differs by {diff}");
        }
    }
}

#[test]
fn stopped_runs_resume_to_the_uninterrupted_outputs() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(&tiny_model(tmp.path()), &seed_file());
    let reference = tmp.path().join("uninterrupted");
    SelfRewardingRun::open(&reference, config.clone())
        .unwrap()
        .execute_with(
            &mut LogObserver,
            &mut Scripted::default(),
            &mut configured_judges(&config),
        )
        .unwrap();

    let root = tmp.path().join("interrupted");
    let stops = [
        (0, "sft", 1, None),
        (1, "instruct", 1, Some("iter1/prompts.journal")),
        (1, "candidates", 1, Some("iter1/candidates.journal")),
        (1, "judge", 1, Some("iter1/judgements.journal")),
        (1, "dpo", 1, None),
        (2, "instruct", 2, Some("iter2/prompts.journal")),
        (2, "judge", 2, Some("iter2/judgements.journal")),
    ];
    for (iteration, stage, units, journal) in stops {
        let run = SelfRewardingRun::open(&root, config.clone()).unwrap();
        let err = run
            .execute_with(
                &mut StopAt {
                    iteration,
                    stage,
                    units,
                },
                &mut Scripted::default(),
                &mut configured_judges(&config),
            )
            .unwrap_err();
        assert!(matches!(err, LoopError::Stopped { .. }), "{stage}: {err}");
        if let Some(journal) = journal {
            // A kill in the middle of writing the next unit leaves a torn line.
            let path = root.join(journal);
            let mut bytes = std::fs::read(&path).unwrap();
            assert!(bytes.ends_with(b"\n"));
            bytes.extend_from_slice(b"[{\"prompt\": \"torn");
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let mut scripted = Scripted::default();
    SelfRewardingRun::open(&root, config.clone())
        .unwrap()
        .execute_with(
            &mut LogObserver,
            &mut scripted,
            &mut configured_judges(&config),
        )
        .unwrap();
    assert_same_outputs(&reference, &root);
    // Finished units were not redone: the last invocation generated only what was left.
    let mut first = Scripted::default();
    let fresh = tmp.path().join("fresh");
    let judges = &mut configured_judges(&config);
    SelfRewardingRun::open(&fresh, config)
        .unwrap()
        .execute_with(&mut LogObserver, &mut first, judges)
        .unwrap();
    let total = |s: &Scripted| s.calls.iter().map(|(_, n)| n).sum::<usize>();
    assert!(
        total(&scripted) < total(&first),
        "{} vs {}",
        total(&scripted),
        total(&first)
    );
}

/// [`StopAt`], spending `pause` in the unit it stops at.
struct SlowStop {
    stop: StopAt,
    pause: std::time::Duration,
}

impl Observer for SlowStop {
    fn unit_finished(
        &mut self,
        iteration: usize,
        stage: &str,
        done: usize,
        message: &str,
    ) -> std::ops::ControlFlow<()> {
        let flow = self.stop.unit_finished(iteration, stage, done, message);
        if flow.is_break() {
            std::thread::sleep(self.pause);
        }
        flow
    }
}

#[test]
fn a_resumed_stage_reports_the_seconds_of_every_invocation() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(&tiny_model(tmp.path()), &seed_file());
    let root = tmp.path().join("run");
    let pause = std::time::Duration::from_millis(700);
    // A journaled generation stage and a training stage, each stopped after its first unit.
    for (iteration, stage) in [(1, "judge"), (1, "dpo")] {
        let err = SelfRewardingRun::open(&root, config.clone())
            .unwrap()
            .execute_with(
                &mut SlowStop {
                    stop: StopAt {
                        iteration,
                        stage,
                        units: 1,
                    },
                    pause,
                },
                &mut Scripted::default(),
                &mut configured_judges(&config),
            )
            .unwrap_err();
        assert!(matches!(err, LoopError::Stopped { .. }), "{stage}: {err}");
    }
    SelfRewardingRun::open(&root, config.clone())
        .unwrap()
        .execute_with(
            &mut LogObserver,
            &mut Scripted::default(),
            &mut configured_judges(&config),
        )
        .unwrap();
    let summaries: Vec<srlm_loop::StageSummary> = records(&root.join("metrics.jsonl"));
    for stage in ["judge", "dpo"] {
        let s = summaries
            .iter()
            .find(|s| s.iteration == 1 && s.stage == stage)
            .unwrap();
        assert!(s.resumed, "{stage}");
        assert!(
            s.wall_s >= pause.as_secs_f64(),
            "{stage}: {} s, though the first invocation spent {pause:?} in it",
            s.wall_s
        );
    }
    // Every clock went with its stage's summary.
    let clocks = root.join("clock");
    let left = std::fs::read_dir(&clocks).map_or(0, |d| d.count());
    assert_eq!(left, 0, "clock files left in {}", clocks.display());
}

#[test]
fn local_tiny_model_runs_every_stage() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = tiny_config(&tiny_model(tmp.path()), &seed_file());
    // A random model writes noise: accept any prompt of a word or more so later stages get work.
    config.instruct.filter = FilterConfig {
        min_words: 1,
        max_rouge_l: 1.01,
        keywords: Vec::new(),
        openings: Vec::new(),
        drop_truncated: false,
        ..FilterConfig::default()
    };
    // Its judge never writes "Score: N"; the expected score always gives one.
    config.judge.method = JudgeMethod::Expected;
    config.instruct.prompts = 2;
    config.instruct.max_generations = 8;
    config.run.iterations = 1;
    let root = tmp.path().join("run");
    let outcome = SelfRewardingRun::open(&root, config.clone())
        .unwrap()
        .execute(&mut LogObserver)
        .unwrap();
    assert_eq!(outcome.summaries.len(), 8);
    let all: Vec<GeneratedInstruction> = records(&root.join("iter1/prompts-all.jsonl"));
    let prompts: Vec<NewPrompt> = records(&root.join("iter1/prompts.jsonl"));
    assert_eq!(all.iter().filter(|g| g.kept).count(), prompts.len());
    let candidates: Vec<CandidateSet> = records(&root.join("iter1/candidates.jsonl"));
    assert_eq!(candidates.len(), prompts.len());
    assert!(candidates.iter().all(|c| c.responses.len() == 4));
    let judged: Vec<JudgedSet> = records(&root.join("iter1/judgements.jsonl"));
    assert_eq!(
        judged.iter().map(|j| j.responses.len()).sum::<usize>(),
        prompts.len() * 4
    );
    assert!(root.join("M2/model.safetensors").exists());
    let judge = &outcome
        .summaries
        .iter()
        .find(|s| s.stage == "judge")
        .unwrap()
        .stats;
    // Candidates cut at the token limit never enter a pair, so they are not judged.
    let cut = candidates
        .iter()
        .flat_map(|c| &c.responses)
        .filter(|r| r.truncated)
        .count();
    assert_eq!(judge["cut_not_judged"], cut);
    assert_eq!(judge["responses"], prompts.len() * 4 - cut);
}

/// The seed prompt source gives each iteration seed prompts no stage used before (not SFT's,
/// not the judge's held-out ones, not an earlier iteration's, none whose seed answer is over the
/// limit); DPO holds pairs out and evaluates them before (the policy is the reference: loss ln 2)
/// and after its update.
#[test]
fn seed_prompts_are_unused_and_dpo_evaluates_held_out_pairs() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = tiny_config(&tiny_model(tmp.path()), &seed_file());
    config.instruct.source = PromptSource::Seed;
    config.instruct.prompts = 8;
    // Below the fixture seed's longest answers (50–110 words), so the limit leaves some out.
    config.instruct.max_seed_answer_words = Some(80);
    config.dpo.held_out_pairs = 0.25;
    let root = tmp.path().join("run");
    let outcome = SelfRewardingRun::open(&root, config.clone())
        .unwrap()
        .execute_with(
            &mut Recorder::default(),
            &mut Scripted::default(),
            &mut configured_judges(&config),
        )
        .unwrap();
    let seed: Vec<SeedPrompt> = records(&root.join("data/seed-prompts.jsonl"));
    let limit = config.instruct.max_seed_answer_words.unwrap();
    assert!(
        seed.iter().any(|p| p.answer_words.unwrap() > limit),
        "the seed has no answer over {limit} words: the limit is not exercised"
    );
    let answer_words: std::collections::HashMap<String, usize> = seed
        .iter()
        .map(|p| (normalize_prompt(&p.prompt), p.answer_words.unwrap()))
        .collect();
    let seed: std::collections::HashSet<String> =
        seed.iter().map(|p| normalize_prompt(&p.prompt)).collect();
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    for r in records::<IftRecord>(&root.join("data/sft-ift.jsonl")) {
        used.insert(normalize_prompt(&r.prompt));
    }
    for r in records::<EftRecord>(&root.join("data/sft-eft.jsonl")) {
        used.insert(normalize_prompt(&r.prompt));
    }
    let held_out: std::collections::HashSet<String> =
        records::<EftRecord>(&root.join("data/eft-held-out.jsonl"))
            .iter()
            .map(|r| normalize_prompt(&r.prompt))
            .collect();
    assert!(!held_out.is_empty());
    for t in 1..=2 {
        let prompts: Vec<NewPrompt> = records(&root.join(format!("iter{t}/prompts.jsonl")));
        assert_eq!(prompts.len(), 8);
        for p in &prompts {
            let key = normalize_prompt(&p.prompt);
            assert!(seed.contains(&key), "{} is not a seed prompt", p.prompt);
            assert!(answer_words[&key] <= limit, "{}'s answer is long", p.prompt);
            assert!(!held_out.contains(&key), "{} is held out", p.prompt);
            assert!(used.insert(key), "{} was used before", p.prompt);
        }
        let pairs: Vec<PreferenceRecord> = records(&root.join(format!("iter{t}/aift.jsonl")));
        let dpo = &outcome
            .summaries
            .iter()
            .find(|s| s.iteration == t && s.stage == "dpo")
            .unwrap()
            .stats;
        let held: HeldOutDpo = serde_json::from_value(dpo["held_out"].clone()).unwrap();
        if pairs.len() < 4 {
            assert_eq!(held.pairs, 0);
            continue;
        }
        let expected = ((0.25 * pairs.len() as f64).round() as usize).max(1);
        assert_eq!(held.pairs, expected, "{dpo}");
        assert_eq!(dpo["pairs"], pairs.len() - expected);
        let (before, after) = (held.before.unwrap(), held.after.unwrap());
        assert!(
            (before.loss - std::f64::consts::LN_2).abs() < 1e-4,
            "{before:?}"
        );
        assert!(before.reward_margin.abs() < 1e-3, "{before:?}");
        assert!(
            after.loss.is_finite() && after.loss != before.loss,
            "{after:?}"
        );
    }
}
