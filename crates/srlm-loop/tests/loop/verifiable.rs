//! Verifiable instructions in the loop: EFT from the seed model's own answers mixed into SFT,
//! held-out own-vs-own sets and instructed evaluation prompts, instructed loop prompts, and the
//! checks' verdict on the self-judge's pairs.

use std::path::Path;

use srlm_data::split::normalize_prompt;
use srlm_data::{read_jsonl, BadLines, EftRecord, PreferenceRecord};
use srlm_judge::Judgement;
use srlm_loop::{check_self_reward, wilson_interval};
use srlm_loop::{JudgedResponse, JudgedSet, NewPrompt, PromptSource, RunConfig, SeedPrompt};
use srlm_verifiable::InstructedPrompt;

use crate::common::{fixture, run_scripted, seed_file, serial, tiny_config, tiny_model, Scripted};

fn records<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    read_jsonl(path, BadLines::Fail).unwrap().0
}

#[test]
fn wilson_intervals_match_scipy() {
    // tools/fixtures/wilson_interval.py: scipy's binomtest(k, n).proportion_ci("wilson").
    let cases = fixture("loop/wilson.json");
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let (k, n) = (case["hits"].as_u64().unwrap(), case["of"].as_u64().unwrap());
        let (low, high) = wilson_interval(k as usize, n as usize).unwrap();
        let want = (
            case["low"].as_f64().unwrap(),
            case["high"].as_f64().unwrap(),
        );
        assert!(
            (low - want.0).abs() < 1e-12 && (high - want.1).abs() < 1e-12,
            "{k}/{n}: ({low}, {high}) against scipy's {want:?}"
        );
    }
    assert_eq!(wilson_interval(0, 0), None);
}

fn instructed(key: &str, task: &str, ids: &[&str]) -> NewPrompt {
    let instructions: Vec<_> = ids
        .iter()
        .map(|id| srlm_verifiable::Instruction::from_kwargs(id, &Default::default()).unwrap())
        .collect();
    let instructed = InstructedPrompt::new(key, task, &instructions);
    NewPrompt {
        id: key.into(),
        prompt: instructed.prompt.clone(),
        instructed: Some(instructed),
    }
}

fn judged(text: &str, score: Option<f64>, truncated: bool) -> JudgedResponse {
    JudgedResponse {
        response: text.into(),
        truncated,
        judgement: Judgement {
            score,
            samples: score.map(Ok).into_iter().collect(),
            texts: Vec::new(),
            truncated: 0,
        },
    }
}

fn pair(prompt: &str, chosen: &str, rejected: &str) -> PreferenceRecord {
    PreferenceRecord {
        prompt: prompt.into(),
        chosen: chosen.into(),
        rejected: rejected.into(),
        score_chosen: None,
        score_rejected: None,
        iteration: Some(1),
        judge_texts_chosen: Vec::new(),
        judge_texts_rejected: Vec::new(),
    }
}

#[test]
fn the_checks_grade_the_self_judges_scores_and_pairs() {
    let p = instructed(
        "iter1-0000",
        "Describe a quiet river at dawn.",
        &["punctuation:no_comma", "change_case:english_lowercase"],
    );
    let plain = NewPrompt {
        id: "iter1-0001".into(),
        prompt: "Name a colour.".into(),
        instructed: None,
    };
    // Followed, by hand: a 2 (lowercase, no comma), b 0, c 1 (lowercase), d 1 (no comma),
    // f 2; e is cut and never counts.
    let a = "the river lies still and grey under a pale sky";
    let b = "The River, at dawn, is Quiet and Grey.";
    let c = "the river, at dawn, is quiet and grey";
    let d = "The River is Quiet and Grey at Dawn.";
    let e = "the river is";
    let f = "a still grey river under the first light";
    let set = JudgedSet {
        id: p.id.clone(),
        prompt: p.prompt.clone(),
        responses: vec![
            judged(a, Some(4.0), false),
            judged(b, Some(1.0), false),
            judged(c, Some(0.5), false),
            judged(d, Some(3.0), false),
            judged(e, Some(5.0), true),
            judged(f, None, false),
        ],
    };
    let other = JudgedSet {
        id: plain.id.clone(),
        prompt: plain.prompt.clone(),
        responses: vec![judged("Red.", Some(4.0), false)],
    };
    let pairs = [
        pair(&p.prompt, a, b),
        pair(&p.prompt, d, c),
        pair(&plain.prompt, "Red.", "Blue."),
    ];
    let check = check_self_reward(&[p.clone(), plain.clone()], &[set, other], &pairs)
        .unwrap()
        .unwrap();
    assert_eq!((check.prompts, check.candidates), (1, 5));
    // a and f follow both instructions.
    assert_eq!((check.following_all.hits, check.following_all.of), (2, 5));
    assert_eq!(check.following_all.chance, None);
    // Scored pairs the checks order: ab, ac, ad, bc, bd (cd tie on the checks; f has no
    // score). The judge agrees on ab, ac, ad, bd and reverses bc (1 > 0.5 where b follows 0
    // and c 1).
    assert_eq!(
        (check.candidate_pairs.hits, check.candidate_pairs.of),
        (4, 5)
    );
    assert_eq!(check.candidate_pairs_judge_tied, 0);
    assert_eq!(check.pairs, 2);
    // a over b follows more; d over c follows as many.
    let more = &check.chosen_follows_more;
    assert_eq!((more.hits, more.of, more.chance), (1, 1, Some(0.5)));
    let at_least = &check.chosen_follows_at_least;
    assert_eq!((at_least.hits, at_least.of), (2, 2));
    // Chance: the pair the checks tie, and half of the other.
    assert_eq!(at_least.chance, Some(0.75));
    // No instructed prompt: nothing to check.
    assert_eq!(check_self_reward(&[plain], &[], &[]).unwrap(), None);
}

#[test]
fn verifiable_settings_are_checked_at_start() {
    let ok = RunConfig::default()
        .with_overrides(&[
            "data.verifiable.share=0.5".into(),
            "data.verifiable.held_out_kinds=[\"punctuation:no_comma\"]".into(),
            "instruct.instructed_share=0.25".into(),
        ])
        .unwrap();
    assert_eq!(ok.data.verifiable.share, 0.5);
    for (set, named) in [
        ("data.verifiable.share=1.5", "data.verifiable.share"),
        (
            "instruct.instructed_share=-0.1",
            "instruct.instructed_share",
        ),
        ("data.verifiable.held_out_kinds=[\"no:such\"]", "no:such"),
        ("data.verifiable.top_p=0", "data.verifiable.top_p"),
        ("data.verifiable.min_instructions=0", "min_instructions"),
    ] {
        let err = RunConfig::default()
            .with_overrides(&[set.into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains(named), "{set}: {err}");
    }
    // Two answers are the fewest that can be ordered, when any are asked for.
    let err = RunConfig::default()
        .with_overrides(&[
            "data.verifiable.share=0.5".into(),
            "data.verifiable.answers=1".into(),
        ])
        .unwrap_err();
    assert!(err.to_string().contains("data.verifiable.answers"), "{err}");
}

/// The tiny run with half of its 8 EFT examples verifiable, from 6 instructed seed prompts; of
/// the seed's 12 held-out prompts, 2 are natural anchors and the rest are left to the held-out
/// verifiable and evaluation sets the test asks for.
fn verifiable_config(dir: &Path) -> RunConfig {
    let mut config = tiny_config(&tiny_model(dir), &seed_file());
    config.instruct.source = PromptSource::Seed;
    config.data.eft_examples = 8;
    config.data.verifiable.share = 0.5;
    config.data.verifiable.prompts = 6;
    config.data.natural.held_out_prompts = 2;
    config.data.verifiable.max_answer_words = 400;
    config
}

#[test]
fn a_run_mixes_verifiable_eft_and_checks_its_self_reward() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = verifiable_config(tmp.path());
    config.run.iterations = 1;
    config.data.verifiable.held_out_prompts = 8;
    config.data.verifiable.eval_prompts = 2;
    config.data.verifiable.held_out_kinds = vec!["punctuation:no_comma".into()];
    config.instruct.instructed_share = 0.5;
    let root = tmp.path().join("run");
    let outcome = run_scripted(&root, &config, &mut Scripted::default()).unwrap();
    let stages: Vec<(usize, &str)> = outcome
        .summaries
        .iter()
        .map(|s| (s.iteration, s.stage.as_str()))
        .collect();
    assert_eq!(
        &stages[..4],
        [
            (0, "seed-answers"),
            (0, "verifiable-answers"),
            (0, "data"),
            (0, "sft")
        ]
    );
    let answers: Vec<srlm_data::eft::VerifiableAnswers> =
        records(&root.join("data/verifiable-answers.jsonl"));
    assert_eq!(answers.len(), 6 + 8);
    assert!(answers.iter().all(|a| a.answers.len() == 4));
    assert!(!root.join("data/verifiable-answers.journal").exists());
    // Training prompts never carry a held-out kind; the evaluation prompts may.
    for a in &answers {
        assert!(!a
            .prompt
            .instruction_id_list
            .contains(&"punctuation:no_comma".to_string()));
    }
    let eval: Vec<InstructedPrompt> = records(&root.join("data/instructed-eval.jsonl"));
    assert_eq!(eval.len(), 2);
    let task = |p: &InstructedPrompt| normalize_prompt(p.task.as_deref().unwrap());
    let pool: Vec<String> = records::<SeedPrompt>(&root.join("data/seed-prompts.jsonl"))
        .iter()
        .map(|p| normalize_prompt(&p.prompt))
        .collect();
    // Held-out tasks never reach the loop's pool; nor do the training tasks given instructions.
    for p in answers.iter().map(|a| &a.prompt).chain(&eval) {
        assert!(!pool.contains(&task(p)), "{:?} in the prompt pool", p.task);
    }
    let data = &outcome
        .summaries
        .iter()
        .find(|s| s.stage == "data")
        .unwrap()
        .stats;
    let eft: Vec<EftRecord> = records(&root.join("data/sft-eft.jsonl"));
    let verifiable = eft
        .iter()
        .filter(|r| r.kind() == Some("verifiable"))
        .count();
    assert_eq!(data["sft_eft_verifiable"], verifiable);
    assert!((1..=4).contains(&verifiable), "at most the share: {data}");
    assert_eq!(eft.len(), data["sft_eft"].as_u64().unwrap() as usize);
    let held: Vec<EftRecord> = records(&root.join("data/eft-held-out.jsonl"));
    let held_verifiable = held
        .iter()
        .filter(|r| r.kind() == Some("verifiable"))
        .count();
    assert_eq!(
        held_verifiable,
        data["verifiable_held_out"]["records"].as_u64().unwrap() as usize
    );
    assert_eq!(data["verifiable_held_out"]["prompts"], 8);
    // Iteration 1: half of the prompts carry instructions, and the pairs are checked.
    let prompts: Vec<NewPrompt> = records(&root.join("iter1/prompts.jsonl"));
    let given = prompts.iter().filter(|p| p.instructed.is_some()).count();
    assert_eq!(given, (prompts.len() as f64 * 0.5).round() as usize);
    let pairs = &outcome
        .summaries
        .iter()
        .find(|s| s.iteration == 1 && s.stage == "pairs")
        .unwrap()
        .stats;
    let check = &pairs["self_reward_check"];
    assert_eq!(check["prompts"], given);
    let more = &check["chosen_follows_more"];
    assert!(more["hits"].as_u64().unwrap() <= more["of"].as_u64().unwrap());
    assert_eq!(more["chance"], 0.5);
}

#[test]
fn a_verifiable_set_left_without_prompts_stops_the_run_naming_it() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = verifiable_config(tmp.path());
    // The 12 held-out seed prompts: 2 natural anchors, then the held-out verifiable set takes
    // the other 10 (short of its 40, a warning), and nothing is left for evaluation.
    config.data.verifiable.held_out_prompts = 40;
    config.data.verifiable.eval_prompts = 2;
    let root = tmp.path().join("run");
    let err = run_scripted(&root, &config, &mut Scripted::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("the eval set"), "{err}");
    assert!(err.contains("2 asked"), "{err}");
    assert!(err.contains("data.held_out_fraction"), "{err}");
    assert!(!root.join("data/verifiable-answers.jsonl").exists());
}
