//! The configuration, the journal, the run folder's guards, and the instruct stage's helpers.

use srlm_loop::{extract_tasks, few_shot_prompt};
use srlm_loop::{GeneratorSpec, LoopError, RunConfig, RunDir};

#[test]
fn config_defaults_overrides_and_errors() {
    let paper = RunConfig::paper();
    assert_eq!((paper.sft.peak_lr, paper.sft.final_lr), (5.5e-6, 1.1e-6));
    assert_eq!(
        (paper.dpo.train.peak_lr, paper.dpo.train.final_lr),
        (1e-6, 1e-7)
    );
    assert_eq!((paper.sft.batch_size, paper.sft.dropout), (16, 0.1));
    assert_eq!(
        (paper.instruct.shots_seed, paper.instruct.shots_generated),
        (6, 2)
    );
    assert_eq!(
        (paper.instruct.temperature, paper.instruct.top_p),
        (0.6, 0.9)
    );
    assert_eq!((paper.candidates.n, paper.candidates.temperature), (4, 0.7));
    assert_eq!(paper.dpo.loss.beta, 0.1);
    assert_eq!(
        (paper.dpo.train.batch_size, paper.dpo.train.dropout),
        (16, 0.1)
    );

    // A file sets only what it names; the rest keeps the base.
    let text = "[candidates]\nn = 6\n[dpo.loss]\nbeta = 0.2\n[judge.generator]\nkind = \"openai\"\nbase_url = \"http://gpu:8000\"\nmodel = \"m\"\n[http]\napi_key_env = \"KEY\"\nconcurrency = 4\nread_timeout_secs = 60.0\nmax_attempts = 2\nbackoff_ms = 100\n";
    let c = RunConfig::from_toml_str(text, RunConfig::default()).unwrap();
    assert_eq!(c.candidates.n, 6);
    assert_eq!(c.dpo.loss.beta, 0.2);
    assert_eq!(c.candidates.temperature, 0.7);
    assert!(
        matches!(c.judge.generator, GeneratorSpec::OpenAi(ref h) if h.base_url == "http://gpu:8000" && h.model == "m")
    );
    assert_eq!(c.http.api_key_env.as_deref(), Some("KEY"));
    assert_eq!((c.http.concurrency, c.http.max_attempts), (4, 2));
    assert_eq!(
        c.http.connect_timeout_secs, 10.0,
        "unset keys keep the default"
    );
    // Written and read back, the same.
    assert_eq!(
        RunConfig::from_toml_str(&c.to_toml().unwrap(), RunConfig::quick()).unwrap(),
        c
    );

    let c = RunConfig::default()
        .with_overrides(&[
            "run.iterations=3".into(),
            "model.path=/m/x.gguf".into(),
            "sft.max_steps=2".into(),
        ])
        .unwrap();
    assert_eq!(c.run.iterations, 3);
    assert_eq!(c.model.path.to_str(), Some("/m/x.gguf"));
    assert_eq!(c.sft.max_steps, Some(2));

    // A key given twice: the last value wins.
    let c = RunConfig::default()
        .with_overrides(&["candidates.n=3".into(), "candidates.n=5".into()])
        .unwrap();
    assert_eq!(c.candidates.n, 5);

    for (bad, needle) in [
        ("candidates.nn=3", "unknown setting `candidates.nn`"),
        ("candidates.n=1", "candidates.n must be at least 2"),
        ("candidates.n=\"four\"", "candidates"),
        ("nonsense", "not KEY=VALUE"),
        // A key a role's table does not have is an error, not dropped.
        (
            "judge.generator={kind=\"openai\",base_url=\"http://x\",model=\"m\",api_key=\"k\"}",
            "api_key",
        ),
        ("http.concurrency=0", "http.concurrency must be at least 1"),
        ("http.read_timeout_secs=-1", "http.read_timeout_secs"),
        ("http.retries=3", "unknown setting `http.retries`"),
    ] {
        let err = RunConfig::default()
            .with_overrides(&[bad.into()])
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{bad}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    std::fs::write(&path, "[run]\niterations = 'two'\n").unwrap();
    let err = RunConfig::from_toml_file(&path, RunConfig::default()).unwrap_err();
    assert!(
        err.to_string().contains("run.toml") && err.to_string().contains("iterations"),
        "{err}"
    );
}

#[test]
fn a_damaged_journal_is_a_corrupt_run_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("units.journal");
    std::fs::write(&path, "[1]\nnot json\n[2]\n").unwrap();
    let err = LoopError::from(srlm_fs::Journal::<Vec<u32>>::open(&path).unwrap_err());
    assert!(matches!(err, LoopError::Corrupt { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("units.journal:2"), "{err}");
}

#[test]
fn a_run_folder_refuses_other_settings_but_may_grow_iterations() {
    let dir = tempfile::tempdir().unwrap();
    let config = RunConfig::quick();
    RunDir::open(dir.path(), &config).unwrap();
    let mut more = config.clone();
    more.run.iterations = 3;
    RunDir::open(dir.path(), &more).unwrap();
    let saved =
        RunConfig::from_toml_file(&dir.path().join("config.toml"), RunConfig::default()).unwrap();
    assert_eq!(saved.run.iterations, 3);
    // Another device is the same run (before, `--device flex` was refused on a `cpu` folder).
    let mut moved = more.clone();
    moved.run.device = if more.run.device == "flex" {
        "cpu"
    } else {
        "flex"
    }
    .into();
    RunDir::open(dir.path(), &moved).unwrap();
    let saved =
        RunConfig::from_toml_file(&dir.path().join("config.toml"), RunConfig::default()).unwrap();
    assert_eq!(saved.run.device, moved.run.device);
    let mut other = more.clone();
    other.candidates.n = 8;
    let err = RunDir::open(dir.path(), &other).unwrap_err();
    assert!(matches!(err, LoopError::ConfigChanged { .. }), "{err}");
    assert!(
        err.to_string().contains("n = 4") && err.to_string().contains("n = 8"),
        "{err}"
    );
}

#[test]
fn few_shot_prompt_and_task_extraction() {
    let prompt = few_shot_prompt(&["Name a fruit.", "Explain rain."]);
    assert!(
        prompt.contains("Task 1: Name a fruit.\n\nTask 2: Explain rain.\n\nWrite Task 3:"),
        "{prompt}"
    );
    let owned = |v: &[(&str, bool)]| {
        v.iter()
            .map(|(t, c)| (t.to_string(), *c))
            .collect::<Vec<_>>()
    };
    // Every labelled task is read; only the last can be incomplete, when the generation was cut.
    assert_eq!(
        extract_tasks(
            "Task 3: Describe a storm.\n\nTask 4: Another one\nover two lines",
            true
        ),
        owned(&[
            ("Describe a storm.", true),
            ("Another one\nover two lines", false)
        ])
    );
    assert_eq!(
        extract_tasks("Sure!\nTask 9: Plan a picnic.", false),
        owned(&[("Sure!", true), ("Plan a picnic.", true)])
    );
    assert_eq!(
        extract_tasks("  \"Plan a picnic for six.\"  ", false),
        owned(&[("Plan a picnic for six.", true)])
    );
    assert_eq!(
        extract_tasks("List two facts\nabout the moon.", false),
        owned(&[("List two facts\nabout the moon.", true)])
    );
    assert_eq!(extract_tasks("Task 12:\n\n", false), owned(&[]));
    assert_eq!(
        extract_tasks("Tasks 1: no label", false),
        owned(&[("Tasks 1: no label", true)])
    );
}

#[test]
fn judge_template_and_score_pattern_come_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    // Defaults: the paper's prompt and `Score: N`; nothing written for them in config.toml.
    let default = RunConfig::default();
    assert_eq!(
        default
            .judge
            .judge_template()
            .unwrap()
            .render("Q?", "A.")
            .unwrap(),
        srlm_judge::JudgeTemplate::paper()
            .render("Q?", "A.")
            .unwrap()
    );
    assert!(!default.to_toml().unwrap().contains("template"));
    // A template file and a pattern, set as a user would.
    let template = dir.path().join("rubric.jinja");
    std::fs::write(&template, "Rate {{ response }} for {{ prompt }}.").unwrap();
    let c = RunConfig::default()
        .with_overrides(&[
            format!("judge.template={:?}", template.display().to_string()),
            r#"judge.score_pattern='Rating: (\d)'"#.into(),
        ])
        .unwrap();
    assert_eq!(
        c.judge
            .judge_template()
            .unwrap()
            .render("Q?", "A.")
            .unwrap(),
        "Rate A. for Q?."
    );
    let parser = c.judge.score_parser().unwrap();
    assert_eq!(parser.parse("Fine. Rating: 4", false), Ok(4.0));
    assert!(parser.parse("Fine. Score: 4", false).is_err());
    // It round-trips through config.toml.
    let back = RunConfig::from_toml_str(&c.to_toml().unwrap(), RunConfig::default()).unwrap();
    assert_eq!(back.judge, c.judge);
    // A missing file and a broken pattern are errors naming the setting.
    let mut missing = c.clone();
    missing.judge.template = Some(dir.path().join("nowhere.jinja"));
    let err = missing.judge.judge_template().unwrap_err().to_string();
    assert!(
        err.contains("judge.template") && err.contains("nowhere.jinja"),
        "{err}"
    );
    let mut broken = c;
    broken.judge.score_pattern = Some("Rating: (".into());
    let err = broken.judge.score_parser().unwrap_err().to_string();
    assert!(err.contains("judge.score_pattern"), "{err}");
}

/// Issue 41's findings 3 and 6: settings accepted until a late stage failed on them (or never
/// did) are refused when the configuration is read, naming the setting.
#[test]
fn every_setting_is_checked_before_any_stage_runs() {
    for (set, named) in [
        // Gradient ascent (-1) and zeroed updates (0).
        ("sft.max_grad_norm=-1", "sft: "),
        ("dpo.train.max_grad_norm=0", "dpo.train: "),
        ("sft.peak_lr=nan", "sft: "),
        ("sft.final_lr=inf", "sft: "),
        ("sft.dropout=1", "sft: "),
        ("sft.adamw.beta2=1", "sft: "),
        ("dpo.train.micro_batch_tokens=0", "dpo.train: "),
        ("dpo.loss.beta=-1", "dpo.loss: "),
        ("dpo.loss.rpo_alpha=-1", "dpo.loss: "),
        ("judge.score_pattern=\"(\"", "judge.score_pattern"),
        ("candidates.temperature=nan", "candidates.temperature"),
        ("candidates.top_p=0", "candidates.top_p"),
        ("judge.top_p=1.5", "judge.top_p"),
        ("instruct.temperature=-1", "instruct.temperature"),
        ("data.natural.top_p=0", "data.natural.top_p"),
        ("pairs.length_margin=-1", "pairs.length_margin"),
        ("data.held_out_fraction=1", "data.held_out_fraction"),
    ] {
        let err = RunConfig::default()
            .with_overrides(&[set.into()])
            .expect_err(set)
            .to_string();
        assert!(err.contains(named), "{set}: {err}");
    }
    // The limits themselves are fine.
    RunConfig::default()
        .with_overrides(&[
            "candidates.temperature=0".into(),
            "judge.top_p=1".into(),
            "pairs.length_margin=0".into(),
            "dpo.loss.rpo_alpha=0".into(),
        ])
        .unwrap();
}

#[test]
fn a_second_opening_of_a_run_folder_is_refused_at_once_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("run");
    let config = RunConfig::quick();
    let first = srlm_loop::SelfRewardingRun::open(&root, config.clone()).unwrap();
    let listing = |root: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing(&root);
    let config_text = std::fs::read(root.join("config.toml")).unwrap();
    let mut more = config.clone();
    more.run.iterations = 5;
    let err = srlm_loop::SelfRewardingRun::open(&root, more).unwrap_err();
    assert!(matches!(err, LoopError::Locked(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("PID {}", std::process::id())) && text.contains(".lock"),
        "{text}"
    );
    assert_eq!(listing(&root), before);
    assert_eq!(
        std::fs::read(root.join("config.toml")).unwrap(),
        config_text
    );
    drop(first);
    srlm_loop::SelfRewardingRun::open(&root, config).unwrap();
}

#[test]
fn a_start_that_fails_its_server_check_leaves_nothing_and_the_fix_starts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("run");
    // Port 1 refuses every connection: the preflight fails before any stage.
    let unreachable = "[judge.generator]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1\"\nmodel = \"m\"\n[http]\nmax_attempts = 1\nconnect_timeout_secs = 2.0\n";
    let config = RunConfig::from_toml_str(unreachable, RunConfig::quick()).unwrap();
    let run = srlm_loop::SelfRewardingRun::open(&root, config).unwrap();
    let err = run
        .execute(&mut srlm_loop::LogObserver)
        .expect_err("the server is unreachable");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    drop(run);
    // Before, the folder and its config.toml stayed, and refused the corrected URL.
    assert!(!root.exists(), "the failed start left {}", root.display());
    let fixed = unreachable.replace("127.0.0.1:1", "127.0.0.1:2");
    let config = RunConfig::from_toml_str(&fixed, RunConfig::quick()).unwrap();
    srlm_loop::SelfRewardingRun::open(&root, config).unwrap();
    assert!(root.join("config.toml").exists());
}

#[test]
fn every_toml_example_in_the_docs_is_a_configuration_the_parser_takes() {
    // Before, `docs/self-rewarding-loop.md` put `[http]` keys under `[candidates.generator]`,
    // and the parser refused the example the page told users to copy.
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let mut checked = 0;
    for name in ["self-rewarding-loop.md", "servers.md", "lora.md"] {
        let text = std::fs::read_to_string(docs.join(name)).unwrap();
        for block in text.split("```toml\n").skip(1) {
            let toml = block.split("```").next().unwrap();
            RunConfig::from_toml_str(toml, RunConfig::default())
                .unwrap_or_else(|e| panic!("{name}: {e}\n{toml}"));
            checked += 1;
        }
    }
    assert_eq!(checked, 3);
}
