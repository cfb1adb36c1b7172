//! Evaluating a run folder: which models, which prompts, which judge, in which order (one model
//! in memory at a time).

use std::path::{Path, PathBuf};

use srlm_data::import::import_mtbench;
use srlm_data::{read_jsonl, BadLines, EftRecord, EvalPrompt, SetKind};
use srlm_generation::GenerationConfig;
use srlm_loop::RunDir;
use srlm_model::burn::tensor::Device;
use srlm_model::{parse_device, LanguageModel, LocalGenerator};

use crate::contest::{pairwise, pointwise, reference_answers, Contest};
use crate::error::{EvalError, Result};
use crate::head_to_head::{answer, Answers};
use crate::instruction_following::{compare_following, instruction_following, InstructedSet};
use crate::judge_comparison::{compare_judges, JudgeComparison};
use crate::judge_quality::{held_out_sets, judge_quality, JudgeQuality};
use crate::judges::{journal_key, journaled, ConfiguredEvalJudges, EvalJudges, HeadToHeadJudge};
use crate::options::{EvalOptions, PairMethod};
use crate::report::EvalReport;
use crate::run_stats::{dpo_curves, iteration_stats};

/// Reads evaluation prompts (MT-Bench's question file or `EvalPrompt` lines, told apart by
/// [`SetKind::of_file`]); a file of another kind is an error naming it.
pub fn read_eval_prompts(path: &Path) -> Result<Vec<EvalPrompt>> {
    match SetKind::of_file(path)? {
        SetKind::MtBench => Ok(import_mtbench(path, BadLines::Fail)?.0),
        SetKind::Eval => Ok(read_jsonl(path, BadLines::Fail)?.0),
        other => Err(EvalError::Data(srlm_data::DataError::BadLine {
            path: path.to_path_buf(),
            line: 1,
            reason: format!("a set of kind {other:?}, not evaluation prompts (`turns`)"),
        })),
    }
}

/// `n` prompts spread over categories: one from each category in turn, in file order.
pub fn spread_over_categories(prompts: &[EvalPrompt], n: usize) -> Vec<EvalPrompt> {
    let mut categories: Vec<(Option<String>, Vec<&EvalPrompt>)> = Vec::new();
    for p in prompts {
        match categories.iter_mut().find(|(c, _)| *c == p.category) {
            Some((_, v)) => v.push(p),
            None => categories.push((p.category.clone(), vec![p])),
        }
    }
    let mut out = Vec::new();
    for round in 0.. {
        let before = out.len();
        for (_, v) in &categories {
            if out.len() < n {
                if let Some(p) = v.get(round) {
                    out.push((*p).clone());
                }
            }
        }
        if out.len() == before || out.len() >= n {
            break;
        }
    }
    out
}

/// The matchups, as indices into `names` (baseline first when present): each model against
/// the one before it (M1 against the baseline among them), the latest against M1, and each later
/// model against the baseline.
pub fn matchups(names: &[String], baseline: bool) -> Vec<(usize, usize)> {
    let first = usize::from(baseline);
    let mut out = Vec::new();
    for i in 1..names.len() {
        out.push((i, i - 1));
    }
    if names.len() > first + 2 {
        out.push((names.len() - 1, first));
    }
    if baseline {
        for i in 2..names.len() {
            out.push((i, 0));
        }
    }
    out
}

/// B − A in judge quality for each held-out set and each of [`matchups`] where both judged it.
fn judge_comparisons(
    judged: &[JudgeQuality],
    names: &[String],
    options: &EvalOptions,
) -> Result<Vec<JudgeComparison>> {
    let row = |model: &str, set: &str| judged.iter().find(|j| j.model == model && j.set == set);
    let mut sets: Vec<&str> = Vec::new();
    for j in judged {
        if !sets.contains(&j.set.as_str()) {
            sets.push(&j.set);
        }
    }
    let mut out = Vec::new();
    for set in sets {
        for (b, a) in matchups(names, options.baseline) {
            if let (Some(a), Some(b)) = (row(&names[a], set), row(&names[b], set)) {
                out.push(compare_judges(a, b, options.seed)?);
            }
        }
    }
    Ok(out)
}

/// Evaluates the run in `run_dir`: its models (M0 from its config when `options.baseline`, then
/// `M1/`, `M2/`, …), its held-out EFT set, and its per-iteration statistics, on the device of the
/// run's configuration (`run.device`).
pub fn evaluate_run(run_dir: &Path, options: &EvalOptions) -> Result<EvalReport> {
    evaluate_run_on(run_dir, None, options)
}

/// [`evaluate_run`] on `device` when given, instead of the run configuration's `run.device`
/// (a run trained on a GPU evaluated on a CPU, or the reverse).
pub fn evaluate_run_on(
    run_dir: &Path,
    device: Option<&Device>,
    options: &EvalOptions,
) -> Result<EvalReport> {
    let (dir, config) = RunDir::existing(run_dir)?;
    let mut models: Vec<(String, PathBuf)> = Vec::new();
    if options.baseline {
        models.push(("M0".into(), config.model.path.clone()));
    }
    models.extend(dir.models().into_iter().map(|(t, p)| (format!("M{t}"), p)));
    let held_out: Vec<EftRecord> = if options.held_out_prompts > 0 {
        dir.read_records(&dir.data("eft-held-out.jsonl"))?
    } else {
        Vec::new()
    };
    let device = match device {
        Some(device) => device.clone(),
        None => parse_device(&config.run.device)?,
    };
    // The run's judge settings, batch, instructed evaluation prompts and held-out kinds, unless
    // the options name others.
    let mut options = options.clone();
    options.judge.get_or_insert_with(|| config.judge.clone());
    options.batch.get_or_insert(config.run.generation_batch);
    if options.instructed_prompts.is_none() && dir.instructed_eval().exists() {
        options.instructed_prompts = Some(dir.instructed_eval());
    }
    if options.held_out_kinds.is_empty() {
        options.held_out_kinds = config.data.verifiable.held_out_kinds.clone();
    }
    let mut report = evaluate_models(&models, &held_out, &device, &options)?;
    report.iterations = iteration_stats(&dir)?;
    report.dpo = dpo_curves(&dir)?;
    Ok(report)
}

/// Evaluates named models (in order; the first is the baseline when `options.baseline`) on a
/// held-out EFT set, the evaluation prompts and the held-out reference answers, one model in
/// memory at a time, on `device`, with the judges `options` name ([`ConfiguredEvalJudges`]).
pub fn evaluate_models(
    models: &[(String, PathBuf)],
    held_out: &[EftRecord],
    device: &Device,
    options: &EvalOptions,
) -> Result<EvalReport> {
    let mut judges = ConfiguredEvalJudges {
        device: device.clone(),
    };
    evaluate_models_with(models, held_out, device, options, &mut judges)
}

/// [`evaluate_models`] with the judges from `judges`: a reward model, a fixed judge of your
/// own, an ensemble.
pub fn evaluate_models_with(
    models: &[(String, PathBuf)],
    held_out: &[EftRecord],
    device: &Device,
    options: &EvalOptions,
    judges: &mut dyn EvalJudges,
) -> Result<EvalReport> {
    if models.is_empty() {
        return Err(EvalError::Input("no model to evaluate".into()));
    }
    let sets = held_out_sets(held_out, options.held_out_prompts);
    let prompts = if options.max_eval_prompts > 0 {
        spread_over_categories(
            &read_eval_prompts(&options.eval_prompts)?,
            options.max_eval_prompts,
        )
    } else {
        Vec::new()
    };
    let (reference_prompts, references) = reference_answers(held_out, options.reference_prompts);
    let instructed = match &options.instructed_prompts {
        Some(path) => Some(InstructedSet::read(
            path,
            (options.max_instructed_prompts > 0).then_some(options.max_instructed_prompts),
        )?),
        None => None,
    };
    let mut report = EvalReport {
        eval_prompts: prompts.len(),
        held_out_kinds: options.held_out_kinds.clone(),
        ..EvalReport::default()
    };
    let answer_params = GenerationConfig::greedy(options.answer_max_tokens).with_seed(options.seed);
    let mut answers: Vec<Answers> = Vec::new();
    let mut reference_answers: Vec<Answers> = Vec::new();
    for (name, path) in models {
        tracing::info!(model = %name, "evaluating");
        let lm = LanguageModel::load(path, device)?;
        let key = journal_key(name, &lm, options)?;
        let local = LocalGenerator::new(&lm, options.generation_batch());
        if !sets.is_empty() {
            let mut judge = judges.quality_judge(&key, &lm, options)?;
            for (kind, groups) in &sets {
                report.judge.push(judge_quality(
                    name,
                    kind,
                    judge.as_mut(),
                    groups,
                    options.seed,
                )?);
            }
        }
        if !prompts.is_empty() {
            let mut generator = journaled(Box::new(local), options, &format!("{key}-answers"))?;
            answers.push(answer(name, &mut generator, &prompts, &answer_params)?);
        }
        if let Some(set) = &instructed {
            let mut generator = journaled(Box::new(local), options, &format!("{key}-instructed"))?;
            report.instruction_following.push(instruction_following(
                name,
                &mut generator,
                set,
                &answer_params,
                options.seed,
            )?);
        }
        if !reference_prompts.is_empty() {
            let mut generator = journaled(
                Box::new(local),
                options,
                &format!("{key}-reference-answers"),
            )?;
            reference_answers.push(answer(
                name,
                &mut generator,
                &reference_prompts,
                &answer_params,
            )?);
        }
    }
    let names: Vec<String> = models.iter().map(|(n, _)| n.clone()).collect();
    report.judge_comparisons = judge_comparisons(&report.judge, &names, options)?;
    let followed = &report.instruction_following;
    report.following_comparisons = matchups(&names, options.baseline)
        .into_iter()
        .filter(|&(b, a)| a < followed.len() && b < followed.len())
        .map(|(b, a)| compare_following(&followed[a], &followed[b], options.seed))
        .collect::<Result<_>>()?;
    if prompts.is_empty() && reference_prompts.is_empty() {
        return Ok(report);
    }
    let HeadToHeadJudge {
        name: judge_name,
        journal_key: judge_key,
        generator: judge,
    } = judges.pair_judge(models, options)?;
    let method = options.pair_method.resolve(&options.pair_judge);
    let contest = Contest {
        prompts: &prompts,
        answers: &answers,
        pairs: if prompts.is_empty() {
            Vec::new()
        } else {
            matchups(&names, options.baseline)
        },
        reference_prompts: &reference_prompts,
        reference_answers: &reference_answers,
        references: &references,
    };
    match method {
        PairMethod::Pointwise => pointwise(judge, &judge_key, &contest, options, &mut report)?,
        PairMethod::Pairwise | PairMethod::Auto => {
            pairwise(judge, &judge_key, &contest, options, &mut report)?
        }
    }
    report.reference_prompts = reference_prompts.len();
    report.head_to_head_judge = Some(judge_name);
    report.head_to_head_method = Some(method);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/data")
            .join(name)
    }

    #[test]
    fn eval_prompts_are_read_from_mt_bench_or_eval_lines_and_nothing_else() {
        let mt_bench = read_eval_prompts(&fixture("mt_bench.jsonl")).unwrap();
        assert_eq!(mt_bench[0].id, "81");
        assert_eq!(mt_bench[0].category.as_deref(), Some("writing"));
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("eval.jsonl");
        srlm_data::write_jsonl(&lines, &mt_bench).unwrap();
        assert_eq!(read_eval_prompts(&lines).unwrap(), mt_bench);
        let err = read_eval_prompts(&fixture("trl_standard.jsonl")).unwrap_err();
        assert!(err.to_string().contains("not evaluation prompts"), "{err}");
    }
}
