//! Random tiny models: every code path, in seconds.

use srlm_model::burn::module::Module;
use srlm_model::burn::optim::{GradientsParams, SgdConfig};
use srlm_model::{
    generate, response_logprobs, sequence_logprobs, GenerationConfig, Llama, LlamaConfig,
    PromptResponse, ResponseBatch, SamplingParams, TokenBatch,
};

use crate::common::{device, max_abs_diff};

/// (name, config): GQA and MHA, tied and untied.
fn configs() -> Vec<(&'static str, LlamaConfig)> {
    let gqa_tied = LlamaConfig::tiny(97, 48, 2, 6, 2);
    let mut mha_untied = LlamaConfig::tiny(97, 32, 3, 4, 4);
    mha_untied.tie_word_embeddings = false;
    let mut gqa_untied_scaled = LlamaConfig::tiny(97, 64, 2, 8, 2);
    gqa_untied_scaled.tie_word_embeddings = false;
    gqa_untied_scaled.rope_scaling = Some(srlm_model::RopeScaling {
        rope_type: "linear".into(),
        factor: 2.0,
        low_freq_factor: None,
        high_freq_factor: None,
        original_max_position_embeddings: None,
    });
    vec![
        ("gqa-tied", gqa_tied),
        ("mha-untied", mha_untied),
        ("gqa-untied-linear-rope", gqa_untied_scaled),
    ]
}

fn prompts() -> Vec<Vec<u32>> {
    vec![
        vec![5, 17, 3, 44, 9, 60, 2],
        vec![8, 1],
        vec![33, 12, 90, 4],
        vec![70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80],
    ]
}

fn host(t: srlm_model::burn::tensor::Tensor<3>) -> (Vec<f32>, [usize; 3]) {
    let dims = t.dims();
    (t.try_into_vec_as::<f32>().expect("f32 data"), dims)
}

#[test]
fn padded_batch_logits_equal_each_sequence_alone() {
    for (name, config) in configs() {
        let model = Llama::random(&config, &device(), 1).unwrap();
        let batch = TokenBatch::pad(&prompts(), 0, srlm_model::Padding::Right).unwrap();
        let (all, [_, seq, vocab]) = host(model.forward(&batch).unwrap());
        for (row, p) in prompts().iter().enumerate() {
            let alone =
                TokenBatch::pad(std::slice::from_ref(p), 0, srlm_model::Padding::Right).unwrap();
            let (single, _) = host(model.forward(&alone).unwrap());
            let batched = &all[row * seq * vocab..(row * seq + p.len()) * vocab];
            let diff = max_abs_diff(batched, &single);
            assert!(diff < 1e-4, "{name}: row {row} differs by {diff}");
        }
    }
}

#[test]
fn padded_batch_greedy_tokens_and_logprobs_equal_each_alone() {
    for (name, config) in configs() {
        let model = Llama::random(&config, &device(), 2).unwrap();
        let gen = GenerationConfig {
            max_new_tokens: 12,
            ..GenerationConfig::default()
        };
        let batched = generate(&model, &prompts(), 0, &gen).unwrap();
        for (i, p) in prompts().iter().enumerate() {
            let alone = generate(&model, std::slice::from_ref(p), 0, &gen).unwrap();
            assert_eq!(
                batched[i].token_ids, alone[0].token_ids,
                "{name}: prompt {i}"
            );
            assert_eq!(batched[i].token_ids.len(), 12);
        }
        let pairs: Vec<PromptResponse> = prompts()
            .into_iter()
            .zip(batched.iter())
            .map(|(prompt, g)| PromptResponse {
                prompt,
                response: g.token_ids.clone(),
            })
            .collect();
        let together = sequence_logprobs(&model, &pairs, 0).unwrap();
        for (i, pair) in pairs.iter().enumerate() {
            let alone = sequence_logprobs(&model, std::slice::from_ref(pair), 0).unwrap();
            assert!(
                (together[i].logprob - alone[0].logprob).abs() < 1e-4,
                "{name}: pair {i}"
            );
            assert_eq!(together[i].tokens, 12);
        }
    }
}

#[test]
fn kv_cache_decoding_equals_full_forward() {
    for (name, config) in configs() {
        let model = Llama::random(&config, &device(), 3).unwrap();
        // Greedy continuation through the cache, then the whole sequence in one pass: the
        // greedy choice at each step must be the argmax of the full pass's logits there, and
        // the log-probs of the generated tokens must agree.
        let gen = GenerationConfig {
            max_new_tokens: 10,
            ..GenerationConfig::default()
        };
        let out = generate(&model, &prompts(), 0, &gen).unwrap();
        for (i, p) in prompts().iter().enumerate() {
            let full: Vec<u32> = p.iter().chain(&out[i].token_ids).copied().collect();
            let batch = TokenBatch::pad(std::slice::from_ref(&full), 0, srlm_model::Padding::Right)
                .unwrap();
            let (logits, [_, _, vocab]) = host(model.forward(&batch).unwrap());
            for (k, &token) in out[i].token_ids.iter().enumerate() {
                let pos = p.len() - 1 + k;
                let row = &logits[pos * vocab..(pos + 1) * vocab];
                assert_eq!(
                    srlm_model::argmax(row) as u32,
                    token,
                    "{name}: prompt {i} step {k}"
                );
            }
        }
        // Logits themselves: cached step-by-step decoding of a left-padded batch.
        let mut cache = model.new_cache();
        let seqs = prompts();
        let batch = TokenBatch::pad(&seqs, 0, srlm_model::Padding::Left).unwrap();
        let full = TokenBatch::pad(&seqs, 0, srlm_model::Padding::Left).unwrap();
        let (full_logits, [b, t, vocab]) = host(model.forward(&full).unwrap());
        // Prefill all but the last column, then feed the last column through the cache.
        let head = TokenBatch {
            tokens: batch
                .tokens
                .chunks(t)
                .flat_map(|r| r[..t - 1].to_vec())
                .collect(),
            valid: batch
                .valid
                .chunks(t)
                .flat_map(|r| r[..t - 1].to_vec())
                .collect(),
            batch: b,
            seq: t - 1,
        };
        let step = |tb: &TokenBatch,
                    past_valid: Option<&[bool]>,
                    past: usize,
                    cache: &mut srlm_model::KvCache| {
            let (tokens, positions, bias) = model_inputs(&model, tb, past_valid, past);
            model.logits(model.forward_hidden(tokens, positions, bias, Some(cache)))
        };
        let _ = step(&head, None, 0, &mut cache);
        let last = TokenBatch::column(batch.tokens.chunks(t).map(|r| r[t - 1]).collect());
        let (inc, _) = host(step(&last, Some(&head.valid), t - 1, &mut cache));
        for row in 0..b {
            let expected = &full_logits[(row * t + t - 1) * vocab..(row * t + t) * vocab];
            let diff = max_abs_diff(&inc[row * vocab..(row + 1) * vocab], expected);
            assert!(
                diff < 1e-4,
                "{name}: row {row} incremental logits differ by {diff}"
            );
        }
        assert_eq!(cache.len(), t);
    }
}

fn model_inputs(
    model: &Llama,
    tb: &TokenBatch,
    past_valid: Option<&[bool]>,
    past: usize,
) -> (
    srlm_model::burn::tensor::Tensor<2, srlm_model::burn::tensor::Int>,
    srlm_model::burn::tensor::Tensor<2, srlm_model::burn::tensor::Int>,
    srlm_model::burn::tensor::Tensor<4>,
) {
    model.step_inputs(tb, past_valid, past).unwrap()
}

#[test]
fn same_seed_same_text_and_sampling_varies_with_seed() {
    let (_, config) = configs().remove(0);
    let model = Llama::random(&config, &device(), 4).unwrap();
    let sampled = |seed| {
        let gen = GenerationConfig {
            max_new_tokens: 16,
            sampling: SamplingParams {
                temperature: 1.5,
                top_p: 0.95,
                top_k: 50,
            },
            seed,
            stop_ids: vec![],
        };
        generate(&model, &prompts(), 0, &gen)
            .unwrap()
            .into_iter()
            .map(|g| g.token_ids)
            .collect::<Vec<_>>()
    };
    assert_eq!(sampled(11), sampled(11));
    assert_ne!(sampled(11), sampled(12));
}

#[test]
fn generation_stops_per_sequence_at_stop_token() {
    let (_, config) = configs().remove(0);
    let model = Llama::random(&config, &device(), 5).unwrap();
    let greedy = generate(
        &model,
        &prompts(),
        0,
        &GenerationConfig {
            max_new_tokens: 8,
            ..Default::default()
        },
    )
    .unwrap();
    // Make the third greedy token of the first prompt a stop token: that sequence must end
    // there while the others run to the length limit, unchanged.
    let stop = greedy[0].token_ids[2];
    let gen = GenerationConfig {
        max_new_tokens: 8,
        stop_ids: vec![stop],
        ..Default::default()
    };
    let out = generate(&model, &prompts(), 0, &gen).unwrap();
    assert_eq!(out[0].finish, srlm_model::FinishReason::Stop);
    let mut stopped = 0;
    for i in 0..out.len() {
        let expected: Vec<u32> = match greedy[i].token_ids.iter().position(|&t| t == stop) {
            Some(k) => greedy[i].token_ids[..=k].to_vec(),
            None => greedy[i].token_ids.clone(),
        };
        assert_eq!(out[i].token_ids, expected, "prompt {i}");
        stopped += usize::from(out[i].finish == srlm_model::FinishReason::Stop);
    }
    assert!(
        stopped < out.len(),
        "pick a model where some sequences run to the limit"
    );
}

#[test]
fn one_sgd_step_lowers_the_loss() {
    for (name, config) in configs() {
        let device = device().autodiff();
        let mut model = Llama::random(&config, &device, 6).unwrap();
        let pairs: Vec<PromptResponse> = prompts()
            .into_iter()
            .map(|p| PromptResponse {
                response: vec![7, 8, 9, 10],
                prompt: p,
            })
            .collect();
        let inputs = ResponseBatch::new(&pairs, 0).unwrap();
        let loss_of = |m: &Llama| response_logprobs(m, &inputs).unwrap().neg().mean();
        let loss = loss_of(&model);
        let before: f32 = loss.clone().into_scalar();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        assert!(!grads.is_empty(), "{name}: no gradients");
        let mut sgd = SgdConfig::new().init();
        model = sgd.step(0.02, model, grads);
        let after: f32 = loss_of(&model).into_scalar();
        assert!(after < before - 1e-3, "{name}: loss {before} -> {after}");
    }
}

#[test]
fn dropout_is_off_at_inference_and_on_in_training() {
    let (_, config) = configs().remove(0);
    let batch = TokenBatch::pad(&prompts(), 0, srlm_model::Padding::Right).unwrap();
    let model = Llama::random(&config, &device(), 7)
        .unwrap()
        .with_hidden_dropout(0.5)
        .unwrap();
    let (a, _) = host(model.forward(&batch).unwrap());
    let (b, _) = host(model.forward(&batch).unwrap());
    assert_eq!(a, b, "inference must be deterministic");
    let trained = model.clone().train();
    assert!(
        trained.device().is_autodiff(),
        "train() moves the model to an autodiff device"
    );
    let (c, _) = host(trained.forward(&batch).unwrap());
    assert!(
        max_abs_diff(&a, &c) > 1e-3,
        "dropout had no effect on an autodiff device"
    );
}

#[test]
fn samples_from_one_prefill_equal_repeated_prompts() {
    // Each prompt prefilled once and its cache copied to 3 samples must give what the plain
    // path gives with each prompt repeated 3 times (same random stream per index), sampled and
    // greedy, with sequences stopping at different steps.
    let (_, config) = configs().remove(0);
    let model = Llama::random(&config, &device(), 9).unwrap();
    let repeated: Vec<Vec<u32>> = prompts()
        .into_iter()
        .flat_map(|p| std::iter::repeat_n(p, 3))
        .collect();
    for sampling in [
        SamplingParams {
            temperature: 1.0,
            top_p: 0.9,
            top_k: 0,
        },
        SamplingParams::default(),
    ] {
        let plain_config = GenerationConfig {
            max_new_tokens: 10,
            sampling,
            seed: 11,
            ..Default::default()
        };
        let plain = generate(&model, &repeated, 0, &plain_config).unwrap();
        // A stop token that ends some sequences early.
        let stop = plain[1].token_ids[3];
        let gen = GenerationConfig {
            stop_ids: vec![stop],
            ..plain_config
        };
        let plain = generate(&model, &repeated, 0, &gen).unwrap();
        let shared = srlm_model::generate_samples(&model, &prompts(), 3, 0, &gen).unwrap();
        assert_eq!(shared.len(), repeated.len());
        for (i, (a, b)) in plain.iter().zip(&shared).enumerate() {
            assert_eq!(a.token_ids, b.token_ids, "sequence {i} ({sampling:?})");
            assert_eq!(a.finish, b.finish, "sequence {i}");
        }
        assert!(shared
            .iter()
            .any(|g| g.finish == srlm_model::FinishReason::Stop));
        if sampling.temperature > 0.0 {
            assert_ne!(
                shared[0].token_ids, shared[1].token_ids,
                "samples of a prompt differ"
            );
        }
    }
    assert!(
        srlm_model::generate_samples(&model, &prompts(), 0, 0, &GenerationConfig::default())
            .is_err()
    );
}

#[test]
fn a_prefix_shared_by_every_prompt_is_prefilled_once_with_the_same_result() {
    // A 20-token prefix (like a judge's rubric) then prompts of their own, of different
    // lengths: the batch prefills the prefix once and copies its cache, with padding between
    // the prefix and each prompt's own tokens. Every row must generate what it generates alone.
    let prefix: Vec<u32> = (0..20).map(|i| 10 + i).collect();
    let prompts: Vec<Vec<u32>> = [vec![5, 17, 3], vec![8], vec![33, 12, 90, 4, 61, 62, 63]]
        .into_iter()
        .map(|own| [prefix.clone(), own].concat())
        .collect();
    for (name, config) in configs() {
        let model = Llama::random(&config, &device(), 4).unwrap();
        let gen = GenerationConfig {
            max_new_tokens: 12,
            ..GenerationConfig::default()
        };
        let batched = srlm_model::generate_samples(&model, &prompts, 2, 0, &gen).unwrap();
        for (i, p) in prompts.iter().enumerate() {
            let alone = generate(&model, std::slice::from_ref(p), 0, &gen).unwrap();
            for sample in 0..2 {
                assert_eq!(
                    batched[i * 2 + sample].token_ids,
                    alone[0].token_ids,
                    "{name}: prompt {i} sample {sample}"
                );
            }
        }
    }
}

#[test]
fn kv_cache_written_in_place_equals_concatenation() {
    use srlm_model::GenerationPath;
    for (name, config) in configs() {
        let model = Llama::random(&config, &device(), 5).unwrap();
        let seqs = prompts();
        let full = TokenBatch::pad(&seqs, 0, srlm_model::Padding::Left).unwrap();
        let (full_logits, [b, t, vocab]) = host(model.forward(&full).unwrap());
        // Prefill all but the last two columns, reserve room, then feed the last two columns
        // one at a time through the reserved cache, the bias as wide as its capacity.
        let columns = |from: usize, to: usize| TokenBatch {
            tokens: full
                .tokens
                .chunks(t)
                .flat_map(|r| r[from..to].to_vec())
                .collect(),
            valid: full
                .valid
                .chunks(t)
                .flat_map(|r| r[from..to].to_vec())
                .collect(),
            batch: b,
            seq: to - from,
        };
        let mut cache = model.new_cache();
        let head = columns(0, t - 2);
        let (tokens, positions, bias) = model.step_inputs(&head, None, 0).unwrap();
        drop(model.forward_hidden(tokens, positions, bias, Some(&mut cache)));
        cache.reserve(7);
        assert_eq!(
            (cache.len(), cache.capacity(), cache.room()),
            (t - 2, t + 5, 7)
        );
        let mut past_valid = head.valid.clone();
        for col in t - 2..t {
            let step = columns(col, col + 1);
            let past = col;
            let (tokens, positions, bias) = model
                .step_inputs_with_room(&step, Some(&past_valid), past, cache.capacity())
                .unwrap();
            let hidden = model.forward_hidden(tokens, positions, bias, Some(&mut cache));
            let (inc, _) = host(model.logits(hidden));
            for row in 0..b {
                let expected = &full_logits[(row * t + col) * vocab..(row * t + col + 1) * vocab];
                let diff = max_abs_diff(&inc[row * vocab..(row + 1) * vocab], expected);
                assert!(
                    diff < 1e-4,
                    "{name}: row {row} column {col} differs by {diff}"
                );
            }
            past_valid = past_valid
                .chunks(past)
                .zip(step.valid.chunks(1))
                .flat_map(|(p, s)| [p, s].concat())
                .collect();
        }
        assert_eq!((cache.len(), cache.capacity()), (t, t + 5));
        // A bias narrower than the cached and new positions is an error, not a panic.
        assert!(model
            .step_inputs_with_room(&columns(0, 1), Some(&past_valid), t, t)
            .is_err());
        // Whole generations past two growths of the room (64 positions each): first without a
        // stop token (every row 150 tokens), then stopping at a token row 0 wrote at step 10
        // (rows leave the batch at different steps): the same tokens either way.
        for temperature in [0.0, 0.8] {
            let mut gen = GenerationConfig {
                max_new_tokens: 150,
                stop_ids: vec![u32::MAX],
                sampling: srlm_model::SamplingParams {
                    temperature,
                    ..Default::default()
                },
                seed: 9,
            };
            let long = srlm_model::generate_samples(&model, &seqs, 2, 0, &gen).unwrap();
            assert!(long.iter().all(|g| g.token_ids.len() == 150), "{name}");
            let stop = long[0].token_ids[10];
            let mut runs = vec![long];
            gen.stop_ids = vec![stop];
            let stopped = srlm_model::generate_samples(&model, &seqs, 2, 0, &gen).unwrap();
            assert!(stopped[0].token_ids.len() <= 11, "{name}");
            runs.push(stopped);
            // On this thread only: the tests beside this one run on with the default set.
            let concatenated = GenerationPath::with(&[GenerationPath::PrefixCache], || {
                [
                    srlm_model::generate_samples(&model, &seqs, 2, 0, &gen),
                    srlm_model::generate_samples(
                        &model,
                        &seqs,
                        2,
                        0,
                        &GenerationConfig {
                            stop_ids: vec![u32::MAX],
                            ..gen.clone()
                        },
                    ),
                ]
            });
            let [stopped, long] = concatenated.map(Result::unwrap);
            assert_eq!(runs[0], long, "{name}, temperature {temperature}");
            assert_eq!(runs[1], stopped, "{name}, temperature {temperature}");
        }
    }
}
