//! `srlm data`: import, inspect, split and build EFT sets, so each set can be looked at before
//! training. Every command writes its outputs atomically and prints a JSON report on stdout.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use srlm::data::eft::{build_ladder_sets, build_ranked_eft, thin_scores, LadderConfig, LadderPool};
use srlm::data::import::{
    import_mtbench, import_oasst, import_sharegpt, import_trl, ShareGptOptions,
};
use srlm::data::split::{dedup_by_prompt, split_by_prompt};
use srlm::data::{inspect, read_jsonl, write_jsonl, BadLines, IftRecord, RankedPrompt};
use srlm::judge::{default_judge_sampling, GenerationConfig, LocalGenerator, SamplingJudge};

/// Source formats `srlm data import` reads.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ImportFormat {
    /// ShareGPT JSON (`conversations: [{from, value}]`) → IFT.
    Sharegpt,
    /// OpenAssistant oasst1 messages (`.jsonl` or `.jsonl.gz`) → IFT (+ ranked prompts).
    Oasst,
    /// MT-Bench `question.jsonl` → evaluation prompts.
    Mtbench,
    /// TRL preference JSONL (standard, conversational or implicit prompt) → AIFT.
    Trl,
}

#[derive(Subcommand)]
pub(crate) enum DataCommand {
    /// Converts a data set in a known format into our JSON Lines.
    Import {
        #[arg(value_enum)]
        format: ImportFormat,
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// oasst: also write prompts with several ranked answers here (EFT candidates).
        #[arg(long)]
        ranked_out: Option<PathBuf>,
        /// oasst: language of the prompts to keep (`all` keeps every language).
        #[arg(long, default_value = "en")]
        lang: String,
        /// sharegpt: keep prompts that are not plain ASCII too.
        #[arg(long)]
        non_ascii: bool,
        /// Skip bad lines (reporting them) instead of stopping at the first.
        #[arg(long)]
        skip_bad_lines: bool,
    },
    /// Summarises a set: kind, counts, length and score histograms.
    Inspect {
        file: PathBuf,
        #[arg(long)]
        skip_bad_lines: bool,
    },
    /// De-duplicates an IFT set by prompt and splits it into train and held-out (seeded,
    /// independent of order).
    Split {
        input: PathBuf,
        #[arg(long)]
        train: PathBuf,
        #[arg(long)]
        held_out: PathBuf,
        #[arg(long, default_value_t = 0.1)]
        fraction: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Builds EFT data.
    #[command(subcommand)]
    BuildEft(BuildEft),
    /// Appends verifiable instructions (IFEval's kinds, drawn and seeded) to tasks: MT-Bench's
    /// question file, evaluation prompts (`turns`) or IFT records (`prompt`). Writes IFEval's
    /// JSON Lines format with each bare `task`, for `srlm eval --instructed`.
    Instruct(crate::verifiable_cmd::InstructArgs),
}

#[derive(Subcommand)]
pub(crate) enum BuildEft {
    /// Without labels: known-quality ladders from IFT pairs. Writes `ift-train.jsonl`,
    /// `eft-train.jsonl`, `eft-held-out.jsonl` and `report.json` into DIR.
    Ladder {
        #[arg(long)]
        ift: PathBuf,
        #[arg(long)]
        out_dir: PathBuf,
        /// Share of prompts held out (the judge's evaluation set).
        #[arg(long, default_value_t = 0.1)]
        held_out: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value_t = 40)]
        min_answer_words: usize,
        #[arg(long, default_value_t = 250)]
        max_answer_words: usize,
        #[arg(long, default_value_t = 120)]
        max_prompt_words: usize,
    },
    /// From the model's own answers to prompts with verifiable instructions (`srlm data
    /// instruct`), ordered by the checks. Writes `eft-train.jsonl`, `eft-held-out.jsonl`,
    /// `answers.jsonl` and `report.json` into DIR.
    Verifiable(crate::verifiable_cmd::VerifiableArgs),
    /// The paper's way: judge human-ranked answers with a model, keep agreeing sets, thin the
    /// most common score.
    Ranked {
        /// Ranked prompts (`srlm data import oasst --ranked-out`).
        #[arg(long)]
        ranked: PathBuf,
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 3)]
        samples: usize,
        /// Largest share one score may keep after thinning.
        #[arg(long, default_value_t = 0.4)]
        max_share: f64,
        #[arg(long, default_value_t = 256)]
        max_new_tokens: usize,
        #[arg(long, default_value_t = 8)]
        batch_size: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

fn mode(skip: bool) -> BadLines {
    if skip {
        BadLines::Skip
    } else {
        BadLines::Fail
    }
}

fn write<T: serde::Serialize>(path: &Path, records: &[T]) -> Result<usize> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(write_jsonl(path, records)?)
}

#[allow(clippy::print_stdout)]
pub(crate) fn run(command: DataCommand, device: &str) -> Result<()> {
    let report = match command {
        DataCommand::Import {
            format,
            input,
            out,
            ranked_out,
            lang,
            non_ascii,
            skip_bad_lines,
        } => {
            let mode = mode(skip_bad_lines);
            match format {
                ImportFormat::Sharegpt => {
                    let options = ShareGptOptions {
                        ascii_prompts_only: !non_ascii,
                    };
                    let (records, report) = import_sharegpt(&input, options, mode)?;
                    write(&out, &records)?;
                    json!({"import": "sharegpt", "out": out, "report": report})
                }
                ImportFormat::Oasst => {
                    let lang = (lang != "all").then_some(lang.as_str());
                    let imported = import_oasst(&input, lang, mode)?;
                    write(&out, &imported.ift)?;
                    if let Some(ranked_out) = &ranked_out {
                        write(ranked_out, &imported.ranked)?;
                    }
                    json!({"import": "oasst", "out": out, "ift": imported.ift.len(),
                           "ranked": imported.ranked.len(), "report": imported.report})
                }
                ImportFormat::Mtbench => {
                    let (prompts, skipped) = import_mtbench(&input, mode)?;
                    write(&out, &prompts)?;
                    json!({"import": "mtbench", "out": out, "prompts": prompts.len(), "skipped": skipped})
                }
                ImportFormat::Trl => {
                    let (pairs, skipped) = import_trl(&input, mode)?;
                    write(&out, &pairs)?;
                    json!({"import": "trl", "out": out, "pairs": pairs.len(), "skipped": skipped})
                }
            }
        }
        DataCommand::Instruct(args) => crate::verifiable_cmd::instruct(&args)?,
        DataCommand::Inspect {
            file,
            skip_bad_lines,
        } => {
            let summary = inspect(&file, mode(skip_bad_lines))?;
            json!({"file": file, "mean_prompt_words": summary.prompt_words.mean(),
                   "mean_response_words": summary.response_words.mean(), "summary": summary})
        }
        DataCommand::Split {
            input,
            train,
            held_out,
            fraction,
            seed,
        } => {
            crate::arg_checks::distinct_outputs(("--train", &train), ("--held-out", &held_out))?;
            let (records, _) = read_jsonl::<IftRecord>(&input, BadLines::Fail)?;
            let (records, duplicates) = dedup_by_prompt(records, |r| r.prompt.as_str());
            let split = split_by_prompt(records, |r| r.prompt.as_str(), fraction, seed)?;
            write(&train, &split.train)?;
            write(&held_out, &split.held_out)?;
            json!({"duplicates": duplicates, "train": split.train.len(), "held_out": split.held_out.len()})
        }
        DataCommand::BuildEft(BuildEft::Ladder {
            ift,
            out_dir,
            held_out,
            seed,
            min_answer_words,
            max_answer_words,
            max_prompt_words,
        }) => {
            let (pairs, _) = read_jsonl::<IftRecord>(&ift, BadLines::Fail)?;
            let config = LadderConfig {
                min_answer_words,
                max_answer_words,
                max_prompt_words,
                seed,
                pool: LadderPool::Train,
            };
            let sets = build_ladder_sets(pairs, held_out, &config)?;
            write(&out_dir.join("ift-train.jsonl"), &sets.ift_train)?;
            write(&out_dir.join("eft-train.jsonl"), &sets.train)?;
            write(&out_dir.join("eft-held-out.jsonl"), &sets.held_out)?;
            let total = sets.total();
            let records: usize = total.histogram.iter().sum();
            let shares: Vec<f64> = total
                .histogram
                .iter()
                .map(|&c| c as f64 / records.max(1) as f64)
                .collect();
            let report = json!({"config": config, "duplicates": sets.duplicates,
                "ift_train": sets.ift_train.len(), "eft_train": sets.train.len(),
                "eft_held_out": sets.held_out.len(), "train": sets.train_report,
                "held_out": sets.held_out_report, "score_shares": shares});
            srlm::model::write_atomic(
                &out_dir.join("report.json"),
                serde_json::to_string_pretty(&report)?.as_bytes(),
            )?;
            report
        }
        DataCommand::BuildEft(BuildEft::Verifiable(args)) => {
            crate::verifiable_cmd::build_verifiable_eft(&args, device)?
        }
        DataCommand::BuildEft(BuildEft::Ranked {
            ranked,
            model,
            out,
            samples,
            max_share,
            max_new_tokens,
            batch_size,
            seed,
        }) => {
            let (prompts, _) = read_jsonl::<RankedPrompt>(&ranked, BadLines::Fail)?;
            let device = srlm::model::parse_device(device)?;
            let lm = srlm::model::LanguageModel::load(&model, &device)
                .with_context(|| format!("loading {}", model.display()))?;
            let mut judge = SamplingJudge::new(LocalGenerator::new(&lm, batch_size))
                .with_samples(samples)
                .with_params(
                    GenerationConfig {
                        max_new_tokens,
                        ..default_judge_sampling()
                    }
                    .with_seed(seed),
                );
            let (records, report) = build_ranked_eft(&mut judge, &prompts, batch_size)?;
            let (records, thinned) = thin_scores(records, max_share, seed)?;
            write(&out, &records)?;
            json!({"out": out, "report": report, "thinned": thinned, "kept": records.len()})
        }
    };
    println!("{report}");
    Ok(())
}
