//! Instruction following, on a scripted model whose answers are known: IFEval's four numbers,
//! the floor, per-kind counts and the paired difference, counted by hand.

use srlm_eval::{compare_following, instruction_following, markdown, EvalReport, InstructedSet};
use srlm_judge::{Completion, GenerationConfig, TextGenerator};
use srlm_verifiable::{InstructedPrompt, Instruction};

/// Answers each prompt from a table keyed by the prompt's text; unknown prompts get "ok".
struct Scripted(Vec<(String, &'static str)>);

impl TextGenerator for Scripted {
    fn complete(
        &mut self,
        prompts: &[String],
        _: usize,
        _: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>, srlm_judge::GenerationError> {
        Ok(prompts
            .iter()
            .map(|p| {
                let text = self
                    .0
                    .iter()
                    .find(|(q, _)| q == p)
                    .map_or("ok", |(_, a)| *a);
                vec![Completion {
                    text: text.to_string(),
                    truncated: text.ends_with("..."),
                }]
            })
            .collect())
    }
}

fn set() -> InstructedSet {
    let comma = Instruction::NoComma;
    let two = Instruction::BulletLists { bullets: 2 };
    let end = Instruction::EndPhrase {
        phrase: "Any other questions?".into(),
    };
    InstructedSet::new(vec![
        InstructedPrompt::new(0, "Name two fruits.", &[two.clone(), comma.clone()]),
        InstructedPrompt::new(1, "Say hello.", std::slice::from_ref(&end)),
        InstructedPrompt::new(2, "Name two colours.", &[two, end]),
        InstructedPrompt::new(3, "Describe rain.", &[comma]),
    ])
    .unwrap()
}

#[test]
fn four_numbers_floor_and_kinds_count_as_ifeval_does() {
    let set = set();
    let p = |i: usize| set.prompts[i].prompt.clone();
    // Prompt 0: two bullets, no comma (2/2). Prompt 1: ends with the phrase (1/1). Prompt 2: a
    // third bullet, but the phrase (1/2); its loose reading without the first line has two
    // bullets and the phrase (2/2). Prompt 3: a comma (0/1); cut at the token limit.
    let mut model = Scripted(vec![
        (p(0), "* apple\n* pear"),
        (p(1), "Hello! Any other questions?"),
        (p(2), "* red\n* blue\n* green Any other questions?"),
        (p(3), "Rain is wet, grey..."),
        // The bare tasks: task 0's answer has a comma; the others pass nothing but task 3's
        // no-comma check.
        ("Name two fruits.".into(), "Apples, pears."),
        ("Say hello.".into(), "Hello."),
        ("Name two colours.".into(), "Red and blue."),
        ("Describe rain.".into(), "Rain falls."),
    ]);
    let r = instruction_following("M1", &mut model, &set, &GenerationConfig::greedy(8), 0).unwrap();
    assert_eq!((r.prompts, r.instructions, r.answers_cut), (4, 6, 1));
    // Prompt level: prompts 0 and 1 follow all -> 2/4. Instruction level: 2 + 1 + 1 + 0 = 4/6.
    assert_eq!(r.prompt_strict.value, 0.5);
    assert!((r.instruction_strict.value - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(r.prompt_loose.value, 0.75);
    assert!((r.instruction_loose.value - 5.0 / 6.0).abs() < 1e-12);
    assert!(r.prompt_strict.low <= 0.5 && 0.5 <= r.prompt_strict.high);
    assert!(
        r.prompt_strict.low < r.prompt_strict.high,
        "four prompts leave room"
    );
    // Floor: only task 3's "Rain falls." passes its check (no comma): prompts 1/4, instr. 1/6.
    let (floor_prompt, floor_instruction) = r.floor.unwrap();
    assert_eq!(floor_prompt.value, 0.25);
    assert!((floor_instruction.value - 1.0 / 6.0).abs() < 1e-12);
    let bullets = &r.by_kind["detectable_format:number_bullet_lists"];
    assert_eq!(
        (bullets.instructions, bullets.strict, bullets.loose),
        (2, 1, 2)
    );
    let end = &r.by_kind["startend:end_checker"];
    assert_eq!(
        (end.instructions, end.strict, end.floor_strict),
        (2, 2, Some(0))
    );

    // A better model on the same prompts: prompt 3 without its comma (3/4 prompts, 5/6).
    let mut better = Scripted(vec![
        (p(0), "* apple\n* pear"),
        (p(1), "Hello! Any other questions?"),
        (p(2), "* red\n* blue\n* green Any other questions?"),
        (p(3), "Rain is wet and grey."),
    ]);
    let b =
        instruction_following("M2", &mut better, &set, &GenerationConfig::greedy(8), 0).unwrap();
    let diff = compare_following(&r, &b, 0).unwrap();
    assert_eq!(diff.prompt_strict.value, 0.25);
    assert!((diff.instruction_strict.value - 1.0 / 6.0).abs() < 1e-12);
    // Paired: the only prompt that differs favours B, so no resample favours A.
    assert!(diff.prompt_strict.low >= 0.0, "{:?}", diff.prompt_strict);

    let report = EvalReport {
        instruction_following: vec![r, b],
        following_comparisons: vec![diff],
        ..Default::default()
    };
    let md = markdown(&report);
    assert!(
        md.contains("## Instruction following, judged by no model"),
        "{md}"
    );
    assert!(
        md.contains("4 held-out prompts with 6 verifiable instructions"),
        "{md}"
    );
    assert!(md.contains("| M1 | 50.0 % ["), "{md}");
    assert!(md.contains("| 1/4 |"), "answers cut: {md}");
    assert!(md.contains("| M2 − M1 | +25.0 pts ["), "{md}");
    assert!(
        md.contains("| `detectable_format:number_bullet_lists` | 1/2/0 of 2 | 1/2/0 of 2 |"),
        "{md}"
    );
}

#[test]
fn bad_instructed_sets_are_refused_with_the_prompt_named() {
    let mut bad = InstructedPrompt::new(7, "Task.", &[Instruction::NoComma]);
    bad.instruction_id_list = vec!["language:response_language".into()];
    let err = InstructedSet::new(vec![bad]).unwrap_err().to_string();
    assert!(err.contains("language:response_language"), "{err}");
    let mut short = InstructedPrompt::new(8, "Task.", &[Instruction::NoComma]);
    short.kwargs.clear();
    let err = InstructedSet::new(vec![short]).unwrap_err().to_string();
    assert!(
        err.contains("prompt 8") && err.contains("0 argument sets for 1"),
        "{err}"
    );
}
