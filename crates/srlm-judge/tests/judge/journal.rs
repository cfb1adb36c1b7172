//! The completion journal: a rerun after a crash asks only for what was not finished, returns
//! the same completions, and a line torn by the crash is cut.

use srlm_judge::{
    default_judge_sampling, Completion, CompletionJournal, GenerationConfig, JournaledGenerator,
    JudgeError, SamplingParams, TextGenerator,
};

/// Answers `prompt#call`, counting the prompts it is asked; fails once `fail_after` prompts
/// have been asked (a crash mid-run).
struct Counting {
    asked: Vec<String>,
    calls: usize,
    fail_after: Option<usize>,
}

impl TextGenerator for Counting {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        _params: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>, srlm_judge::GenerationError> {
        if self.fail_after.is_some_and(|k| self.asked.len() >= k) {
            return Err(srlm_judge::GenerationError::generator(
                JudgeError::InvalidInput("crash".into()),
            ));
        }
        self.calls += 1;
        self.asked.extend(prompts.iter().cloned());
        Ok(prompts
            .iter()
            .map(|p| {
                (0..n)
                    .map(|k| Completion {
                        text: format!("{p}#{}#{k}", self.calls),
                        truncated: false,
                    })
                    .collect()
            })
            .collect())
    }
}

fn counting(fail_after: Option<usize>) -> Counting {
    Counting {
        asked: Vec::new(),
        calls: 0,
        fail_after,
    }
}

#[test]
fn a_rerun_asks_only_for_what_was_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j/answers.jsonl");
    let prompts: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let params = default_judge_sampling();

    // First run: chunks of 3; the third chunk crashes after 6 prompts are done.
    let mut inner = counting(Some(6));
    {
        let journal = CompletionJournal::open(&path).unwrap();
        let mut gen = JournaledGenerator::new(&mut inner, journal, 3);
        assert!(gen.complete(&prompts, 2, &params).is_err());
    }
    assert_eq!(inner.asked.len(), 6);

    // A crash mid-write leaves half a line: it is cut, and that prompt is asked again.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"key\":\"2|0.7"))
        .unwrap();

    let mut inner = counting(None);
    let journal = CompletionJournal::open(&path).unwrap();
    assert_eq!(journal.len(), 6);
    let mut gen = JournaledGenerator::new(&mut inner, journal, 3);
    let out = gen.complete(&prompts, 2, &params).unwrap();
    assert_eq!(inner.asked, prompts[6..].to_vec());
    assert_eq!(out.len(), 10);
    assert_eq!(
        out[0][1].text, "p0#1#1",
        "the first run's completion, from the journal"
    );
    assert_eq!(out[9][0].text, "p9#2#0", "this run's second chunk");

    // Other settings are other work.
    let mut inner = counting(None);
    let journal = CompletionJournal::open(&path).unwrap();
    let mut gen = JournaledGenerator::new(&mut inner, journal, 3);
    let greedy = GenerationConfig {
        sampling: SamplingParams::default(),
        ..params.clone()
    };
    gen.complete(&prompts[..2], 2, &greedy).unwrap();
    gen.complete(&prompts[..2], 1, &params).unwrap();
    gen.complete(&prompts, 2, &params).unwrap();
    assert_eq!(
        inner.asked.len(),
        4,
        "2 prompts greedy, 2 with one sample; the rest already journaled"
    );
}

#[test]
fn a_corrupt_finished_line_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    std::fs::write(&path, "not json\n").unwrap();
    let err = CompletionJournal::open(&path).unwrap_err().to_string();
    assert!(err.contains("j.jsonl:1"), "{err}");
}
