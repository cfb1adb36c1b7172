//! Records → token batches: the loss mask is exact, truncation counts, token budgets.

use std::path::PathBuf;

use srlm_data::eft::Rung;
use srlm_data::{
    batch_by_length, batch_by_tokens, preference_batch, sft_batch, EftRecord, Encoder, IftRecord,
    PreferenceRecord,
};
use srlm_judge::{JudgeTemplate, DEFAULT_JUDGE_MAX_TOKENS};
use srlm_model::{device_from_env, LanguageModel, ResponseBatch};

use crate::common::{fixtures, root};

fn tiny() -> LanguageModel {
    LanguageModel::load(
        &fixtures().join("tiny-llama3"),
        &device_from_env("SRLM_TEST_DEVICE", "cpu").unwrap(),
    )
    .unwrap()
}

fn smollm2() -> LanguageModel {
    let path = std::env::var_os("SRLM_SMOLLM2")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("assets/SmolLM2-135M-Instruct.Q4_1.gguf"));
    LanguageModel::load(&path, &device_from_env("SRLM_TEST_DEVICE", "cpu").unwrap()).unwrap()
}

/// The ids of the loss-masked positions' targets, per row.
fn masked_targets(batch: &ResponseBatch) -> Vec<Vec<u32>> {
    let width = batch.batch.seq - 1;
    (0..batch.batch.batch)
        .map(|row| {
            (0..width)
                .filter(|t| batch.mask[row * width + t] == 1.0)
                .map(|t| batch.targets[row * width + t] as u32)
                .collect()
        })
        .collect()
}

fn check_mask_is_exactly_the_response(lm: &LanguageModel) {
    let encoder = Encoder::new(lm, 4096).unwrap();
    let ift = [
        IftRecord {
            prompt: "Name three colours.".into(),
            response: "Red, green and blue.".into(),
            source: None,
        },
        IftRecord {
            prompt: "Say hi in French, please — vite!".into(),
            response: " Bonjour ! 👋\n\nÇa va ?  ".into(),
            source: None,
        },
    ];
    let eft = [EftRecord {
        prompt: "2+2?".into(),
        response: "4".into(),
        judgement: "Correct and direct.\nScore: 4".into(),
        score: 4.0,
        origin: None,
    }];
    // The judge prompt alone is ~300 tokens: past the tiny model's 128 positions.
    let fits_judge = lm.model.max_positions() >= 1024;
    let eft = if fits_judge { &eft[..] } else { &eft[..0] };
    let (examples, report) = encoder.sft_set(&ift, eft).unwrap();
    assert_eq!(
        (report.encoded, report.truncated, report.dropped),
        (2 + eft.len(), 0, 0)
    );
    let refs: Vec<_> = examples.iter().collect();
    let batch = sft_batch(&refs, lm.pad_id).unwrap();
    let eot = lm.tokenizer.id_to_token(lm.end_of_turn_ids[0]).unwrap();
    let responses: Vec<&str> = ift
        .iter()
        .map(|r| r.response.as_str())
        .chain(eft.iter().map(|r| r.judgement.as_str()))
        .collect();
    for (row, ids) in masked_targets(&batch).iter().enumerate() {
        let text = lm.tokenizer.decode(ids, false).unwrap();
        assert_eq!(text, format!("{}{eot}", responses[row]), "row {row}");
        // Every masked-out real position predicts a prompt token.
        assert_eq!(ids.len(), examples[row].response.len());
    }
    // The prompt side is the chat template with the generation prompt, as at generation time.
    let prompt = lm.tokenizer.decode(&examples[0].prompt, false).unwrap();
    assert_eq!(prompt, lm.chat_prompt(&ift[0].prompt).unwrap());
    if fits_judge {
        let judge_prompt = lm.tokenizer.decode(&examples[2].prompt, false).unwrap();
        let rendered = JudgeTemplate::paper().render("2+2?", "4").unwrap();
        assert_eq!(judge_prompt, lm.chat_prompt(&rendered).unwrap());
    }
    // Padding is on the right and masked out.
    for (row, example) in examples.iter().enumerate() {
        let valid = &batch.batch.valid[row * batch.batch.seq..(row + 1) * batch.batch.seq];
        let n = example.len();
        assert!(valid[..n].iter().all(|v| *v) && valid[n..].iter().all(|v| !*v));
    }
}

#[test]
fn loss_mask_covers_exactly_the_response_and_end_of_turn_tiny() {
    check_mask_is_exactly_the_response(&tiny());
}

#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn loss_mask_covers_exactly_the_response_and_end_of_turn_smollm2() {
    check_mask_is_exactly_the_response(&smollm2());
}

/// The default judge token cap leaves at least half of itself above the EFT ladder's longest
/// target judgement (end of turn included), so a trained judge is never cut where its training
/// targets are not.
#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn the_judge_token_cap_covers_the_longest_ladder_target_with_a_margin() {
    let lm = smollm2();
    let longest = Rung::ALL
        .iter()
        .map(|rung| lm.encode_response(&rung.justification()).unwrap().len())
        .max()
        .unwrap();
    eprintln!("longest ladder target: {longest} tokens");
    assert!(longest > 50, "{longest}");
    assert!(
        2 * longest <= DEFAULT_JUDGE_MAX_TOKENS,
        "longest ladder target {longest} tokens against a cap of {DEFAULT_JUDGE_MAX_TOKENS}"
    );
}

/// The same margin for the natural builder's targets, on prompts whose topic words are long
/// (its justifications quote up to three of them, and the neighbour's).
#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn the_judge_token_cap_covers_the_longest_natural_target_with_a_margin() {
    use srlm_data::eft::{build_natural, NaturalConfig, SeedAnswers};
    let lm = smollm2();
    let subjects = [
        "internationalization electroencephalography photolithography",
        "internationalization characterization microelectromechanical",
    ];
    let pairs: Vec<IftRecord> = subjects
        .iter()
        .map(|s| IftRecord {
            prompt: format!("What about {s}?"),
            response: format!(
                "- First point about {s}.\n- Second point.\n{}",
                "More words here. ".repeat(20)
            ),
            source: None,
        })
        .collect();
    let answers: Vec<SeedAnswers> = pairs
        .iter()
        .map(|p| SeedAnswers {
            prompt: p.prompt.clone(),
            greedy: Some("Short own answer.".into()),
            sampled: Some("Another own answer.".into()),
        })
        .collect();
    let (records, _) = build_natural(&pairs, &answers, &NaturalConfig::default()).unwrap();
    assert_eq!(records.len(), 10);
    let longest = records
        .iter()
        .map(|r| lm.encode_response(&r.judgement).unwrap().len())
        .max()
        .unwrap();
    eprintln!("longest natural target: {longest} tokens");
    assert!(
        2 * longest <= DEFAULT_JUDGE_MAX_TOKENS,
        "longest natural target {longest} tokens against a cap of {DEFAULT_JUDGE_MAX_TOKENS}"
    );
}

#[test]
fn truncation_cuts_the_response_end_and_drops_prompts_that_fill_the_budget() {
    let lm = tiny();
    let record = IftRecord {
        prompt: "Hi".into(),
        response: "a long answer that will not fit in the budget at all".into(),
        source: None,
    };
    let full = Encoder::new(&lm, 10_000)
        .unwrap()
        .ift(&record)
        .unwrap()
        .unwrap();
    let max_len = full.prompt.len() + 5;
    let encoder = Encoder::new(&lm, max_len).unwrap();
    let cut = encoder.ift(&record).unwrap().unwrap();
    assert!(cut.truncated);
    assert_eq!(cut.len(), max_len);
    assert_eq!(cut.prompt, full.prompt);
    assert_eq!(cut.response, full.response[..5]);

    let tight = Encoder::new(&lm, full.prompt.len()).unwrap();
    assert_eq!(tight.ift(&record).unwrap(), None);
    let (kept, report) = tight.sft_set(&[record.clone(), record], &[]).unwrap();
    assert!(kept.is_empty());
    assert_eq!(report.dropped, 2);
    assert!(Encoder::new(&lm, 1).is_err());
}

#[test]
fn an_eft_target_is_never_cut_it_is_dropped_and_counted() {
    let lm = tiny();
    let eft = EftRecord {
        prompt: "2+2?".into(),
        response: "4".into(),
        judgement: "The answer is correct, direct and complete; nothing is missing.\nScore: 4"
            .into(),
        score: 4.0,
        origin: None,
    };
    // A short judge template: the paper's alone fills the tiny model's 128 positions.
    let short = || JudgeTemplate::new("Judge: {{ prompt }} / {{ response }}").unwrap();
    let encoder = |max_len: usize| {
        Encoder::new(&lm, max_len)
            .unwrap()
            .with_judge_template(short())
    };
    let full = encoder(128).eft(&eft).unwrap().unwrap();
    assert!(!full.truncated);
    // Room for half the judgement: an IFT example would be cut there; the EFT one is dropped,
    // since its cut would take the score with it.
    let half = encoder(full.prompt.len() + full.response.len() / 2);
    assert_eq!(half.eft(&eft).unwrap(), None);
    let ift = IftRecord {
        prompt: "Hi".into(),
        response: eft.judgement.repeat(40),
        source: None,
    };
    let verifiable = EftRecord {
        origin: Some("verifiable:1/2".into()),
        ..eft.clone()
    };
    let (kept, report) = half.sft_set(&[ift], &[eft.clone(), verifiable]).unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].truncated, "the IFT example is cut, not dropped");
    assert_eq!(
        (
            report.encoded,
            report.truncated,
            report.dropped,
            report.eft_cut
        ),
        (1, 1, 2, 2)
    );
    let by_kind: Vec<(&str, usize)> = report
        .eft_cut_by_kind
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(by_kind, [("given", 1), ("verifiable", 1)]);
    // A judge prompt that fills the budget alone is dropped as any prompt is, not as a cut.
    let tight = encoder(full.prompt.len());
    let (_, report) = tight.sft_set(&[], &[eft]).unwrap();
    assert_eq!((report.dropped, report.eft_cut), (1, 0));
}

#[test]
fn preference_batch_puts_chosen_rows_then_rejected_rows() {
    let lm = tiny();
    let encoder = Encoder::new(&lm, 4096).unwrap();
    let pairs = [
        PreferenceRecord {
            prompt: "2+2?".into(),
            chosen: "4".into(),
            rejected: "five, I think".into(),
            score_chosen: None,
            score_rejected: None,
            iteration: None,
            judge_texts_chosen: vec![],
            judge_texts_rejected: vec![],
        },
        PreferenceRecord {
            prompt: "Capital of France?".into(),
            chosen: "Paris.".into(),
            rejected: "Lyon.".into(),
            score_chosen: None,
            score_rejected: None,
            iteration: None,
            judge_texts_chosen: vec![],
            judge_texts_rejected: vec![],
        },
    ];
    let (encoded, report) = encoder.preference_set(&pairs).unwrap();
    assert_eq!(report.encoded, 2);
    let refs: Vec<_> = encoded.iter().collect();
    let batch = preference_batch(&refs, lm.pad_id).unwrap();
    assert_eq!(batch.batch.batch, 4);
    let eot = lm.tokenizer.id_to_token(lm.end_of_turn_ids[0]).unwrap();
    let texts: Vec<String> = masked_targets(&batch)
        .iter()
        .map(|ids| lm.tokenizer.decode(ids, false).unwrap())
        .collect();
    assert_eq!(
        texts,
        ["4", "Paris.", "five, I think", "Lyon."].map(|t| format!("{t}{eot}"))
    );
}

#[test]
fn token_budget_batches_respect_budget_rows_and_order() {
    let lengths = [10, 12, 30, 5, 5, 5, 100, 8];
    let groups = batch_by_tokens(&lengths, 40, 3);
    // [10, 12] (12 × 2 ≤ 40); 30 would make 30 × 3 > 40; three 5s hit the row cap; 100 alone.
    assert_eq!(
        groups,
        vec![vec![0, 1], vec![2], vec![3, 4, 5], vec![6], vec![7]]
    );
    // Budget holds: rows × longest ≤ budget, except a single over-long item.
    let groups = batch_by_tokens(&lengths, 36, 8);
    for g in &groups {
        let longest = g.iter().map(|&i| lengths[i]).max().unwrap();
        assert!(g.len() == 1 || longest * g.len() <= 36, "{g:?}");
    }
    let flat: Vec<usize> = groups.concat();
    assert_eq!(flat, (0..lengths.len()).collect::<Vec<_>>());
    assert!(batch_by_tokens(&[], 10, 2).is_empty());
}

#[test]
fn length_ordered_micro_batches_pad_less_and_keep_every_item_once() {
    // A step's items in shuffled order: long and short mixed.
    let lengths = [1000, 100, 900, 120, 640, 700, 90, 610];
    let padded = |groups: &[Vec<usize>]| -> usize {
        groups
            .iter()
            .map(|g| g.len() * g.iter().map(|&i| lengths[i]).max().unwrap())
            .sum()
    };
    let in_order = batch_by_tokens(&lengths, 2048, usize::MAX);
    let by_length = batch_by_length(&lengths, 2048, usize::MAX);
    assert_eq!(
        by_length,
        vec![vec![6, 1, 3], vec![7, 4], vec![5, 2], vec![0]],
        "shortest first, grouped under the budget"
    );
    // 360 + 1,280 + 1,800 + 1,000 padded tokens, against 2,000 + 1,800 + 1,400 + 1,220 for the
    // given order ([1000, 100], [900, 120], [640, 700], [90, 610]): four micro-batches either way.
    assert_eq!(padded(&by_length), 4440);
    assert_eq!(padded(&in_order), 6420);
    assert_eq!(in_order.len(), 4);
    let mut all: Vec<usize> = by_length.concat();
    all.sort_unstable();
    assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
    for g in &by_length {
        let longest = g.iter().map(|&i| lengths[i]).max().unwrap();
        assert!(g.len() == 1 || longest * g.len() <= 2048, "{g:?}");
    }
}

#[test]
fn records_over_the_size_limit_are_dropped_and_counted_before_tokenising() {
    let lm = tiny();
    let record = |n: usize| IftRecord {
        prompt: "Hi".into(),
        response: "word ".repeat(n),
        source: None,
    };
    // 2 MiB: before, the tokenizer took it whole (a 5 MB record took about 1 GB of memory).
    let huge = record(2 << 20 >> 2);
    let encoder = Encoder::new(&lm, 64).unwrap();
    assert_eq!(encoder.ift(&huge).unwrap(), None);
    let (kept, report) = encoder.sft_set(&[huge, record(4)], &[]).unwrap();
    assert_eq!((kept.len(), report.dropped, report.too_large), (1, 1, 1));
    // The limit is the caller's: 40 bytes keep "Hi" + 5 words (27 bytes), not 10 (52).
    let small = Encoder::new(&lm, 64).unwrap().with_max_record_bytes(40);
    assert!(small.ift(&record(5)).unwrap().is_some());
    assert_eq!(small.ift(&record(10)).unwrap(), None);
    let pair = PreferenceRecord {
        prompt: "Hi".into(),
        chosen: "word ".repeat(10),
        rejected: "no".into(),
        ..serde_json::from_str(r#"{"prompt":"","chosen":"","rejected":""}"#).unwrap()
    };
    let (pairs, report) = small.preference_set(&[pair]).unwrap();
    assert_eq!((pairs.len(), report.too_large), (0, 1));
}

#[test]
fn a_pair_that_prefers_nothing_is_refused_by_its_number() {
    // Before, `srlm dpo` trained on it: its DPO gradient is zero, its SimPO/ORPO ones are not.
    let lm = tiny();
    let pair = |chosen: &str, rejected: &str| -> PreferenceRecord {
        serde_json::from_value(serde_json::json!({
            "prompt": "2+2?", "chosen": chosen, "rejected": rejected
        }))
        .unwrap()
    };
    let encoder = Encoder::new(&lm, 64).unwrap();
    let err = encoder
        .preference_set(&[pair("4", "5"), pair("4", "4")])
        .unwrap_err();
    assert!(
        matches!(err, srlm_data::DataError::NoPreference { number: 2 }),
        "{err}"
    );
    assert!(err.to_string().contains("pair 2"), "{err}");
}
