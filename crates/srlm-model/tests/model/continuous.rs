//! Continuous batching against fixed chunks: the same sequences, whatever the batch size, up to
//! float rounding.
//!
//! A row's logits are not bit-for-bit independent of its batch on flex: the `gemm` crate picks
//! its kernel by the number of rows (a matrix-vector kernel for one row, an unpacked kernel
//! for few rows against a column-major right operand), and the kernels sum in different
//! orders — the last bit of a logit moves with the batch. So a sampled token can flip where
//! the random draw falls within ~10⁻⁷ of the boundary between two ids (`sample` walks ids, not
//! the ranking, so two logits that swap rank do not flip it), or, greedy, where two logits tie
//! to ~10⁻⁷. The test demands equal sequences except where such a flip explains the first
//! difference, checked against the draw the sequence's stream gives there.

use rand::Rng;
use srlm_model::{
    generate_continuous, generate_samples, sequence_rng, ContinuousBatching, Generation,
    GenerationConfig, Llama, LlamaConfig, Padding, SamplingParams, TokenBatch,
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

/// One sequence of a run: request `index` (prompt `index / samples`, sample `index % samples`)
/// of a run over `rows` rows.
#[derive(Clone, Copy)]
struct Request {
    index: usize,
    samples: usize,
    rows: usize,
}

impl Request {
    /// The random draw this sequence's token `step` takes: its stream is the one fixed chunks
    /// give it (`ContinuousBatching`'s documented streams), one draw per sampled token.
    fn draw(&self, seed: u64, step: usize) -> f64 {
        let (prompt, sample) = (self.index / self.samples, self.index % self.samples);
        let block = (self.rows / self.samples).max(1);
        let start = prompt - prompt % block;
        let seed = seed.wrapping_add((start * self.samples) as u64);
        let mut rng = sequence_rng(seed, (prompt - start) * self.samples + sample);
        (0..step).for_each(|_| {
            rng.random::<f64>();
        });
        rng.random::<f64>()
    }
}

/// Whether `got` and `expected` part (`Ok(true)`: only where rounding can flip a token; `Err`:
/// anywhere else, or in their ends).
fn same_up_to_rounding(
    model: &Llama,
    prompts: &[Vec<u32>],
    request: Request,
    gen: &GenerationConfig,
    got: &Generation,
    expected: &Generation,
) -> Result<bool, String> {
    if got == expected {
        return Ok(false);
    }
    let (a, b) = (&got.token_ids, &expected.token_ids);
    let Some(step) = a.iter().zip(b).position(|(x, y)| x != y) else {
        return Err(format!(
            "same tokens, different ends: {got:?} against {expected:?}"
        ));
    };
    let mut context = prompts[request.index / request.samples].clone();
    context.extend_from_slice(&a[..step]);
    let batch = TokenBatch::pad(&[context], 0, Padding::Right).map_err(|e| e.to_string())?;
    let logits = model.forward(&batch).map_err(|e| e.to_string())?;
    let [_, seq, vocab] = logits.dims();
    let logits = logits
        .try_into_vec_as::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    let logits = &logits[(seq - 1) * vocab..];
    let (x, y) = (a[step] as usize, b[step] as usize);
    let temperature = gen.sampling.temperature;
    if temperature == 0.0 {
        let gap = (logits[x] - logits[y]).abs();
        return if gap < 1e-5 {
            Ok(true)
        } else {
            Err(format!(
                "step {step}: greedy {x} against {y}, logits {gap} apart"
            ))
        };
    }
    let (low, high) = (x.min(y), x.max(y));
    let boundary = cumulative_through(logits, temperature, low);
    let between = cumulative_through(logits, temperature, high - 1) - boundary;
    if between > 1e-6 {
        return Err(format!(
            "step {step}: tokens {x} and {y} have {between} between them"
        ));
    }
    // `sample` takes the first id whose cumulative probability reaches 1 − u.
    let draw = 1.0 - request.draw(gen.seed, step);
    if (draw - boundary).abs() < 1e-5 {
        Ok(true)
    } else {
        Err(format!(
            "step {step}: draw {draw} is far from the boundary {boundary} of {x} and {y}"
        ))
    }
}

/// `Σ softmax(logits / t)` over ids `0..=id` (sampling without top-k or top-p, as in this test).
fn cumulative_through(logits: &[f32], temperature: f32, id: usize) -> f64 {
    let scaled: Vec<f64> = logits
        .iter()
        .map(|&l| f64::from(l) / f64::from(temperature))
        .collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scaled.iter().map(|s| (s - max).exp()).collect();
    weights[..=id].iter().sum::<f64>() / weights.iter().sum::<f64>()
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
            let case = format!("temperature {temperature}, {samples} samples, {rows} rows");
            let flips = (0..got.len())
                .filter(|&i| {
                    let request = Request {
                        index: i,
                        samples,
                        rows,
                    };
                    same_up_to_rounding(&model, &prompts, request, &gen, &got[i], &expected[i])
                        .unwrap_or_else(|why| panic!("{case}: sequence {i}: {why}"))
                })
                .count();
            // A flip needs a draw within ~10⁻⁷ of a boundary: rare, or something else is wrong.
            assert!(flips * 10 <= got.len(), "{case}: {flips} sequences flipped");
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
