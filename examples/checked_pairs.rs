//! The preference pairs an iteration would have made had the checks judged its instructed
//! prompts: an ablation that asks whether DPO at the run's settings improves instruction
//! following when the reward is right, apart from whether the self-judge gives that reward.
//!
//! On each instructed prompt (`prompts.jsonl`), the checks score every finished candidate of
//! `judgements.jsonl` by the instructions it follows (strict); the pair is the first candidate
//! with the most against the first with the fewest, and a prompt whose finished candidates all
//! follow as many makes no pair (a tie, as the loop's pair stage treats one). The plain
//! prompts keep the self-judge's pairs of `aift.jsonl`. Writes these pairs as preference JSONL
//! for `srlm dpo` to `OUT-checked.jsonl`, and the control to `OUT-self.jsonl`: the same plain
//! pairs and the self-judge's own pairs on the instructed prompts the checks made a pair of
//! (same prompts, only the chooser differs); prints the counts.
//!
//! ```text
//! cargo run --release -p srlm --example checked_pairs -- runs/demo/iter1 runs/demo/iter1
//! ```
//! Arguments: the iteration's folder, the prefix of the two files to write.

#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::Path;

use srlm::data::{read_jsonl, write_jsonl, BadLines, PreferenceRecord};
use srlm::run::{JudgedSet, NewPrompt};
use srlm::verifiable::Instruction;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [iteration, out] = args.as_slice() else {
        return Err("usage: checked_pairs ITERATION-FOLDER OUT-PREFIX".into());
    };
    let iteration = Path::new(iteration);
    let (prompts, _) = read_jsonl::<NewPrompt>(&iteration.join("prompts.jsonl"), BadLines::Fail)?;
    let (judged, _) = read_jsonl::<JudgedSet>(&iteration.join("judgements.jsonl"), BadLines::Fail)?;
    let (pairs, _) = read_jsonl::<PreferenceRecord>(&iteration.join("aift.jsonl"), BadLines::Fail)?;
    let mut checks: HashMap<&str, Vec<Instruction>> = HashMap::new();
    for p in &prompts {
        if let Some(instructed) = &p.instructed {
            checks.insert(p.prompt.as_str(), instructed.instructions()?);
        }
    }
    let mut kept: Vec<PreferenceRecord> = pairs
        .iter()
        .filter(|pair| !checks.contains_key(pair.prompt.as_str()))
        .cloned()
        .collect();
    let plain = kept.len();
    let mut control = kept.clone();
    let (mut instructed, mut tied, mut few) = (0, 0, 0);
    for set in &judged {
        let Some(instructions) = checks.get(set.prompt.as_str()) else {
            continue;
        };
        instructed += 1;
        let followed: Vec<(usize, &str)> = set
            .responses
            .iter()
            .filter(|r| !r.truncated && !r.response.trim().is_empty())
            .map(|r| {
                let n = instructions.iter().filter(|i| i.check(&r.response)).count();
                (n, r.response.as_str())
            })
            .collect();
        let best = followed.iter().map(|f| f.0).max();
        let worst = followed.iter().map(|f| f.0).min();
        let (Some(best), Some(worst), 2..) = (best, worst, followed.len()) else {
            few += 1;
            continue;
        };
        if best == worst {
            tied += 1;
            continue;
        }
        let pick = |n: usize| followed.iter().find(|f| f.0 == n).map(|f| f.1.to_string());
        if let (Some(chosen), Some(rejected)) = (pick(best), pick(worst)) {
            control.extend(pairs.iter().filter(|p| p.prompt == set.prompt).cloned());
            kept.push(PreferenceRecord {
                score_chosen: Some(best as f64),
                score_rejected: Some(worst as f64),
                iteration: pairs.first().and_then(|p| p.iteration),
                ..PreferenceRecord::new(set.prompt.clone(), chosen, rejected)
            });
        }
    }
    let self_judged = pairs.len() - plain;
    write_jsonl(Path::new(&format!("{out}-checked.jsonl")), &kept)?;
    write_jsonl(Path::new(&format!("{out}-self.jsonl")), &control)?;
    println!(
        "checked: {} pairs, {plain} of the self-judge's on plain prompts and {} ordered by the \
         checks on {instructed} instructed prompts ({tied} tied, {few} with < 2 finished); \
         self: {} pairs, the self-judge's {} on those prompts (it made {self_judged} on \
         instructed prompts)",
        kept.len(),
        kept.len() - plain,
        control.len(),
        control.len() - plain,
    );
    Ok(())
}
