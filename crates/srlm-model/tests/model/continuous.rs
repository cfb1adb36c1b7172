//! Continuous batching against fixed chunks: the same sequences, whatever the batch size.

use srlm_model::{
    generate_continuous, generate_samples, ContinuousBatching, Generation, GenerationConfig, Llama,
    LlamaConfig, SamplingParams,
};

use crate::common::device;

/// Prompts of many lengths (1 to 23 tokens), so later prompts join the batch with caches both
/// shorter and longer than its own.
fn prompts() -> Vec<Vec<u32>> {
    (0..29u32)
        .map(|i| {
            let len = 1 + (i * 7 % 23) as usize;
            (0..len as u32).map(|j| (i * 13 + j * 5) % 90 + 3).collect()
        })
        .collect()
}

/// What `LanguageModel::complete` did before continuous batching: `generate_samples` over
/// blocks of `rows / samples` prompts, the block at prompt `p` seeded `seed + p · samples`.
fn in_fixed_chunks(
    model: &Llama,
    prompts: &[Vec<u32>],
    samples: usize,
    config: &GenerationConfig,
    rows: usize,
) -> Vec<Generation> {
    let block = (rows / samples).max(1);
    prompts
        .chunks(block)
        .enumerate()
        .flat_map(|(i, chunk)| {
            let config = GenerationConfig {
                seed: config.seed + (i * block * samples) as u64,
                ..config.clone()
            };
            generate_samples(model, chunk, samples, 0, &config).unwrap()
        })
        .collect()
}

/// A stop token that ends sequences at many different steps: the most frequent token after
/// the first few of unstopped generations.
fn frequent_token(generations: &[Generation]) -> u32 {
    let mut counts = std::collections::HashMap::new();
    for g in generations {
        for &id in g.token_ids.iter().skip(2) {
            *counts.entry(id).or_insert(0usize) += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(id, n)| (n, std::cmp::Reverse(id)))
        .map(|(id, _)| id)
        .unwrap()
}

#[test]
fn continuous_batching_gives_the_sequences_of_fixed_chunks() {
    let mut config = LlamaConfig::tiny(97, 48, 2, 6, 2);
    config.max_position_embeddings = 160;
    let model = Llama::random(&config, &device(), 11).unwrap();
    let prompts = prompts();
    for temperature in [0.0, 0.9] {
        let mut gen = GenerationConfig {
            max_new_tokens: 150,
            stop_ids: vec![u32::MAX],
            sampling: SamplingParams {
                temperature,
                ..Default::default()
            },
            seed: 21,
        };
        let unstopped = in_fixed_chunks(&model, &prompts[..6], 1, &gen, 6);
        gen.stop_ids = vec![frequent_token(&unstopped)];
        for (samples, rows) in [(1, 4), (1, 7), (3, 6), (3, 10), (2, 1), (1, 64)] {
            let expected = in_fixed_chunks(&model, &prompts, samples, &gen, rows);
            let batching = ContinuousBatching { rows };
            let got = generate_continuous(&model, &prompts, samples, 0, &gen, batching).unwrap();
            let lengths: Vec<usize> = got.iter().map(|g| g.token_ids.len()).collect();
            // The check is only as good as the spread of lengths: sequences must leave the
            // batch at many different steps, and some must reach the position limit.
            let distinct: std::collections::BTreeSet<_> = lengths.iter().collect();
            assert!(distinct.len() >= 5, "lengths {lengths:?}");
            assert_eq!(
                got, expected,
                "temperature {temperature}, {samples} samples, {rows} rows"
            );
        }
    }
}

#[test]
fn continuous_batching_stops_at_the_model_positions_and_takes_no_prompts() {
    let mut config = LlamaConfig::tiny(97, 32, 1, 4, 2);
    config.max_position_embeddings = 24;
    let model = Llama::random(&config, &device(), 3).unwrap();
    let prompts = vec![vec![5; 20], vec![6; 3], vec![7; 10]];
    let gen = GenerationConfig {
        max_new_tokens: 50,
        stop_ids: vec![u32::MAX],
        ..GenerationConfig::greedy(50)
    };
    let got =
        generate_continuous(&model, &prompts, 2, 0, &gen, ContinuousBatching { rows: 2 }).unwrap();
    let lengths: Vec<usize> = got.iter().map(|g| g.token_ids.len()).collect();
    // Each prompt's sequence ends where the model's 24 positions do.
    assert_eq!(lengths, vec![4, 4, 21, 21, 14, 14]);
    assert_eq!(
        generate_continuous(&model, &[], 2, 0, &gen, ContinuousBatching { rows: 2 }).unwrap(),
        Vec::new()
    );
    // A prompt that fills the positions is an error, not a panic.
    assert!(generate_continuous(
        &model,
        &[vec![1; 24]],
        1,
        0,
        &gen,
        ContinuousBatching { rows: 2 }
    )
    .is_err());
}
