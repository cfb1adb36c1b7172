//! Shared-prompt log-probs against the plain `prompt ++ response` rows: values and gradients.

use srlm_model::{
    response_logprobs, shared_prompt_logprobs, Llama, LlamaConfig, PromptResponse, PromptResponses,
    ResponseBatch, SharedPromptBatch,
};

use crate::common::device;

/// Prompts of different lengths with two or three responses each (a one-token response, and
/// responses longer than their prompt), so the rows pad differently in the two layouts.
fn groups() -> Vec<PromptResponses> {
    vec![
        PromptResponses {
            prompt: vec![5, 17, 3, 44, 9, 60, 2],
            responses: vec![vec![7, 8, 9, 10], vec![11, 12]],
        },
        PromptResponses {
            prompt: vec![8, 1],
            responses: vec![
                vec![40],
                vec![41, 42, 43, 44, 45, 46, 47, 48, 49],
                vec![50, 51],
            ],
        },
        PromptResponses {
            prompt: vec![70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80],
            responses: vec![vec![20, 21, 22], vec![23, 24, 25, 26, 27]],
        },
    ]
}

/// The same responses as plain rows, in the shared layout's order.
fn rows(groups: &[PromptResponses]) -> Vec<PromptResponse> {
    groups
        .iter()
        .flat_map(|g| {
            g.responses.iter().map(|r| PromptResponse {
                prompt: g.prompt.clone(),
                response: r.clone(),
            })
        })
        .collect()
}

/// GQA (ratio 3) with tied embeddings, and MHA untied.
fn configs() -> Vec<(&'static str, LlamaConfig)> {
    let gqa = LlamaConfig::tiny(97, 48, 2, 6, 2);
    let mut mha = LlamaConfig::tiny(97, 32, 2, 4, 4);
    mha.tie_word_embeddings = false;
    vec![("gqa-3-tied", gqa), ("mha-untied", mha)]
}

/// Largest difference relative to `b`'s largest magnitude.
fn relative_gap(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-6);
    crate::common::max_abs_diff(a, b) / scale
}

#[test]
fn shared_prompt_logprobs_equal_the_plain_rows() {
    for (name, config) in configs() {
        let model = Llama::random(&config, &device(), 11).unwrap();
        let groups = groups();
        let shared = SharedPromptBatch::new(&groups, 0).unwrap();
        assert_eq!(shared.responses(), 7);
        let plain = ResponseBatch::new(&rows(&groups), 0).unwrap();
        let a = shared_prompt_logprobs(&model, &shared).unwrap();
        let b = response_logprobs(&model, &plain).unwrap();
        let (a, b) = (
            a.try_into_vec_as::<f32>().unwrap(),
            b.try_into_vec_as::<f32>().unwrap(),
        );
        assert!(b.iter().all(|x| *x < -1.0), "{name}: {b:?}");
        let gap = relative_gap(&a, &b);
        assert!(gap < 1e-5, "{name}: relative gap {gap}: {a:?} vs {b:?}");
    }
}

#[test]
fn shared_prompt_gradients_equal_the_plain_rows() {
    for (name, config) in configs() {
        let device = device().autodiff();
        let model = Llama::random(&config, &device, 12).unwrap();
        let groups = groups();
        // Unequal weights per response, so a response's gradient landing on another's shows.
        let weights: Vec<f32> = (0..7).map(|i| 0.5 + i as f32 * 0.3).collect();
        let weights = srlm_model::burn::tensor::Tensor::<1>::from_data(
            srlm_model::burn::tensor::TensorData::new(weights, [7]),
            &device,
        );
        let grads_of = |logps: srlm_model::burn::tensor::Tensor<1>| {
            let grads = (logps * weights.clone()).sum().backward();
            let mut out = vec![model.embed.weight.val().grad(&grads).unwrap()];
            if let Some(head) = &model.lm_head {
                out.push(head.weight.val().grad(&grads).unwrap());
            }
            out.into_iter()
                .map(|g| g.try_into_vec_as::<f32>().unwrap())
                .collect::<Vec<_>>()
        };
        let shared = grads_of(
            shared_prompt_logprobs(&model, &SharedPromptBatch::new(&groups, 0).unwrap()).unwrap(),
        );
        let plain = grads_of(
            response_logprobs(&model, &ResponseBatch::new(&rows(&groups), 0).unwrap()).unwrap(),
        );
        for (i, (s, p)) in shared.iter().zip(&plain).enumerate() {
            let gap = relative_gap(s, p);
            assert!(gap < 1e-5, "{name}: parameter {i}: relative gap {gap}");
        }
    }
}

#[test]
fn shared_prompt_batches_refuse_empty_parts() {
    let empty_response = [PromptResponses {
        prompt: vec![1, 2],
        responses: vec![vec![3], vec![]],
    }];
    let error = SharedPromptBatch::new(&empty_response, 0)
        .unwrap_err()
        .to_string();
    assert!(error.contains("prompt 0"), "{error}");
    assert!(SharedPromptBatch::new(&[], 0).is_err());
    let no_responses = [PromptResponses {
        prompt: vec![1],
        responses: vec![],
    }];
    assert!(SharedPromptBatch::new(&no_responses, 0).is_err());
}
