//! The bench's report: each side's records over the rounds combined into one row per
//! measurement (the median rate, the highest peak), PyTorch's beside srlm's, and their ratio as
//! the median of the rounds' paired ratios — each round measures both sides back to back, so a
//! drift of the machine between rounds moves both alike.

use super::{generation, median, Record};

/// One measurement over every round: srlm's, PyTorch's where it ran, and the per-round ratios
/// srlm / PyTorch of the rounds where both sides measured it.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub ours: Record,
    pub theirs: Option<Record>,
    pub ratios: Vec<f64>,
}

/// The rows of `ours` and `theirs` (one list of records per round, the same rounds on both
/// sides; `theirs` empty when PyTorch did not run), in the order srlm measured them.
pub(crate) fn rows(ours: &[Vec<Record>], theirs: &[Vec<Record>]) -> Vec<Row> {
    let mut keys: Vec<(&str, usize)> = Vec::new();
    for r in ours.iter().flatten() {
        if !keys.contains(&(r.work.as_str(), r.batch)) {
            keys.push((r.work.as_str(), r.batch));
        }
    }
    let find = |round: &[Record], (work, batch): (&str, usize)| {
        round
            .iter()
            .find(|r| r.work == work && r.batch == batch)
            .cloned()
    };
    keys.into_iter()
        .filter_map(|key| {
            let mine: Vec<Record> = ours.iter().filter_map(|round| find(round, key)).collect();
            let other: Vec<Record> = theirs.iter().filter_map(|round| find(round, key)).collect();
            let ratios = ours
                .iter()
                .zip(theirs)
                .filter_map(|(a, b)| Some(find(a, key)?.tokens_per_s / find(b, key)?.tokens_per_s))
                .collect();
            Some(Row {
                ours: combine(&mine)?,
                theirs: combine(&other),
                ratios,
            })
        })
        .collect()
}

/// One record for a measurement's rounds: the median rate and phases, the highest peaks.
fn combine(records: &[Record]) -> Option<Record> {
    let first = records.first()?;
    let max = |f: fn(&Record) -> f64| records.iter().map(f).fold(f64::NAN, f64::max);
    let phases = records
        .iter()
        .map(|r| r.phases)
        .collect::<Option<Vec<[f64; 3]>>>()
        .map(|all| std::array::from_fn(|i| median(all.iter().map(|p| p[i]).collect())));
    Some(Record {
        tokens_per_s: median(records.iter().map(|r| r.tokens_per_s).collect()),
        peak_rss_mib: max(|r| r.peak_rss_mib),
        peak_heap_mib: first
            .peak_heap_mib
            .map(|_| max(|r| r.peak_heap_mib.unwrap_or(f64::NAN))),
        peak_device_mib: first
            .peak_device_mib
            .map(|_| max(|r| r.peak_device_mib.unwrap_or(f64::NAN))),
        phases,
        ..first.clone()
    })
}

/// A record's row label; `(prompt, new)` are the generation shape's token counts. A generation
/// over a bf16 LoRA base (`decode+bf16base`) gets its work's label and `, bf16 base`.
fn label(r: &Record, (prompt, new): (usize, usize)) -> String {
    if let Some((work, base)) = r.work.split_once('+').filter(|(_, b)| b.ends_with("base")) {
        let plain = Record {
            work: work.to_string(),
            ..r.clone()
        };
        let dtype = base.trim_end_matches("base");
        return format!("{}, {dtype} base", label(&plain, (prompt, new)));
    }
    match r.work.as_str() {
        "prefill" => format!("prefill {prompt}"),
        "decode" if prompt == generation::PROMPT => format!("decode {new}"),
        "decode" => format!("decode {new} after {prompt}"),
        "sft" => "SFT step 4 × 256".into(),
        "sft-eft" => "SFT step 4 × (448 + 96), EFT shape".into(),
        "dpo" => "DPO step 4 pairs × 2 × 256 (reference cached)".into(),
        "dpo-ref" => "DPO step, reference in memory".into(),
        "answers" => format!("answers: 4 sampled per question, ≤ {new} tokens"),
        "adamw" => "AdamW update with clipping (parameters/s)".into(),
        other => other.into(),
    }
}

/// The ratio cell: the median of the paired ratios, and their range when there are several.
fn ratio_cell(ratios: &[f64]) -> String {
    let mid = median(ratios.to_vec());
    match ratios {
        [] => "–".into(),
        [_] => format!("{mid:.2}"),
        _ => {
            let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{mid:.2} ({low:.2}–{high:.2})")
        }
    }
}

/// The markdown table: one row per measurement, PyTorch's beside srlm's. `torch` is the
/// PyTorch column's label (`2 threads`, `cuda`) when PyTorch ran; `rounds` how many rounds
/// each row combines.
pub(crate) fn table(
    rows: &[Row],
    torch: Option<String>,
    rounds: usize,
    shape: (usize, usize),
) -> String {
    let mut out = String::new();
    let rate = if rounds > 1 {
        format!("tok/s (median of {rounds} rounds)")
    } else {
        "tok/s".into()
    };
    if let Some(side) = &torch {
        let ratio = if rounds > 1 {
            "ratio (median of paired rounds; range)"
        } else {
            "ratio"
        };
        out.push_str(&format!(
            "| work | batch | srlm {rate} | PyTorch {rate} ({side}) | {ratio} | peak MiB srlm / PyTorch |\n"
        ));
        out.push_str("|---|---|---|---|---|---|\n");
    } else {
        out.push_str(&format!(
            "| work | batch | srlm {rate} | peak MiB |\n|---|---|---|---|\n"
        ));
    }
    for row in rows {
        let r = &row.ours;
        if torch.is_some() {
            let (rate, peak) = match &row.theirs {
                Some(t) => (
                    format!("{:.1}", t.tokens_per_s),
                    format!("{} / {}", peak(r), peak(t)),
                ),
                None => ("–".into(), format!("{} / –", peak(r))),
            };
            out.push_str(&format!(
                "| {} | {} | {:.1} | {rate} | {} | {peak} |\n",
                label(r, shape),
                r.batch,
                r.tokens_per_s,
                ratio_cell(&row.ratios)
            ));
        } else {
            out.push_str(&format!(
                "| {} | {} | {:.1} | {} |\n",
                label(r, shape),
                r.batch,
                r.tokens_per_s,
                peak(r)
            ));
        }
    }
    let phases: Vec<&Record> = rows
        .iter()
        .map(|row| &row.ours)
        .filter(|r| r.phases.is_some())
        .collect();
    if !phases.is_empty() {
        out.push_str("\n| srlm step | forward s | backward s | optimizer s |\n|---|---|---|---|\n");
        for r in phases {
            if let Some([f, b, o]) = r.phases {
                out.push_str(&format!(
                    "| {} | {f:.2} | {b:.2} | {o:.2} |\n",
                    label(r, shape)
                ));
            }
        }
    }
    out
}

/// A record's peak memory: resident, then in parentheses the live heap's, the plan's and the
/// device's where measured.
fn peak(r: &Record) -> String {
    let details: Vec<String> = [
        r.peak_heap_mib.map(|heap| format!("heap {heap:.0}")),
        r.planned_mib.map(|plan| format!("plan {plan:.0}")),
        r.peak_device_mib
            .map(|device| format!("device {device:.0}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if details.is_empty() {
        format!("{:.0}", r.peak_rss_mib)
    } else {
        format!("{:.0} ({})", r.peak_rss_mib, details.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(work: &str, batch: usize, rate: f64) -> Record {
        Record {
            work: work.into(),
            batch,
            tokens_per_s: rate,
            peak_rss_mib: 100.0,
            peak_heap_mib: None,
            load_peak_mib: None,
            peak_device_mib: None,
            planned_mib: None,
            phases: None,
            fused: String::new(),
            generation: String::new(),
        }
    }

    #[test]
    fn generation_over_a_bf16_base_is_labelled_as_its_work_and_base() {
        let shape = (128, 32);
        assert_eq!(
            label(&record("decode+bf16base", 16, 1.0), shape),
            "decode 32, bf16 base"
        );
        assert_eq!(
            label(&record("prefill+bf16base", 16, 1.0), shape),
            "prefill 128, bf16 base"
        );
        assert_eq!(
            label(&record("decode+bf16base", 16, 1.0), (600, 32)),
            "decode 32 after 600, bf16 base"
        );
        // A training record's suffix is its own.
        assert_eq!(
            label(&record("sft+lora16bf16", 4, 1.0), shape),
            "sft+lora16bf16"
        );
    }

    #[test]
    fn the_table_puts_each_record_beside_its_pytorch_match_with_the_ratio() {
        let ours = vec![vec![record("decode", 4, 30.0), record("sft", 4, 50.0)]];
        let theirs = vec![vec![record("sft", 4, 100.0), record("decode", 4, 20.0)]];
        let text = table(
            &rows(&ours, &theirs),
            Some("2 threads".into()),
            1,
            (128, 32),
        );
        assert!(
            text.contains("| decode 32 | 4 | 30.0 | 20.0 | 1.50 | 100 / 100 |"),
            "{text}"
        );
        assert!(
            text.contains("| SFT step 4 × 256 | 4 | 50.0 | 100.0 | 0.50 |"),
            "{text}"
        );
        let missing = table(
            &rows(&[vec![record("prefill", 16, 10.0)]], &theirs),
            Some("2 threads".into()),
            1,
            (128, 32),
        );
        assert!(
            missing.contains("| prefill 128 | 16 | 10.0 | – | – |"),
            "{missing}"
        );
    }

    #[test]
    fn rounds_give_median_rates_the_median_paired_ratio_and_the_highest_peak() {
        // The machine slows down in round 2 for both sides alike; round 3 has an outlier.
        let mut slow = record("sft", 4, 60.0);
        slow.peak_rss_mib = 300.0;
        slow.phases = Some([1.0, 2.0, 3.0]);
        let mut ours = vec![record("sft", 4, 100.0), slow, record("sft", 4, 90.0)];
        ours[0].phases = Some([0.5, 1.0, 9.0]);
        ours[2].phases = Some([0.7, 3.0, 1.0]);
        let theirs = [
            record("sft", 4, 80.0),
            record("sft", 4, 50.0),
            record("sft", 4, 45.0),
        ];
        let ours: Vec<Vec<Record>> = ours.into_iter().map(|r| vec![r]).collect();
        let theirs: Vec<Vec<Record>> = theirs.into_iter().map(|r| vec![r]).collect();
        let rows = rows(&ours, &theirs);
        let [row] = rows.as_slice() else {
            panic!("one measurement, one row: {rows:?}");
        };
        // Rates 100, 60, 90 → 90; PyTorch 80, 50, 45 → 50; ratios 1.25, 1.2, 2.0 → 1.25 (the
        // ratio of the medians, 1.8, is what the drift would have made of it).
        assert_eq!(row.ours.tokens_per_s, 90.0);
        assert_eq!(row.theirs.as_ref().map(|t| t.tokens_per_s), Some(50.0));
        assert_eq!(row.ratios, vec![1.25, 1.2, 2.0]);
        assert_eq!(row.ours.peak_rss_mib, 300.0);
        assert_eq!(row.ours.phases, Some([0.7, 2.0, 3.0]));
        let text = table(&rows, Some("2 threads".into()), 3, (128, 32));
        assert!(
            text.contains("| SFT step 4 × 256 | 4 | 90.0 | 50.0 | 1.25 (1.20–2.00) | 300 / 100 |"),
            "{text}"
        );
        assert!(text.contains("median of 3 rounds"), "{text}");
    }

    #[test]
    fn both_sides_device_peaks_reach_the_table() {
        // As `tools/bench/torch_bench.py --device cuda --json` prints it.
        let theirs: Record = serde_json::from_str(
            r#"{"work": "dpo+lora16+ckpt", "batch": 4, "tokens_per_s": 100.0,
                "peak_rss_mib": 2000.0, "peak_device_mib": 30000.0}"#,
        )
        .expect("a PyTorch record");
        let mut ours = record("dpo+lora16+ckpt", 4, 90.0);
        ours.planned_mib = Some(24000.0);
        ours.peak_device_mib = Some(25000.4);
        let text = table(
            &rows(&[vec![ours]], &[vec![theirs]]),
            Some("cuda, TF32".into()),
            1,
            (128, 32),
        );
        assert!(
            text.contains("| 0.90 | 100 (plan 24000, device 25000) / 2000 (device 30000) |"),
            "{text}"
        );
    }
}
