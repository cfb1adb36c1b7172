//! LoRA adapters against PEFT (tools/fixtures/peft_lora.py): adapters PEFT saved load with its
//! logits and merged weights, what srlm saves reads back the same, and only the adapters train.

use std::path::Path;

use serde_json::Value;
use srlm_model::burn::module::{Module, ModuleVisitor, Param};
use srlm_model::burn::optim::GradientsParams;
use srlm_model::burn::tensor::Tensor;
use srlm_model::lora::peft;
use srlm_model::{
    read_safetensors, LanguageModel, Llama, LoraConfig, LoraTarget, ModelError, Padding,
    TokenBatch, WeightMap,
};

use crate::common::{device, fixtures, ids, max_abs_diff, read_json};

fn tiny() -> LanguageModel {
    LanguageModel::load(&fixtures().join("tiny-llama3"), &device()).expect("load tiny-llama3")
}

fn with_adapter(dir: &Path) -> Llama {
    let (config, mut weights) = peft::load_adapter(dir).expect("PEFT adapter");
    tiny()
        .model
        .with_lora_weights(&config, &mut weights)
        .expect("adapter fits the model")
}

fn logits(model: &Llama, input: Vec<u32>) -> Vec<f32> {
    let batch = TokenBatch::pad(&[input], 0, Padding::Right).unwrap();
    model
        .forward(&batch)
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap()
}

/// Every case of a `reference.json` (`ids`, `logits`) against `model`'s logits.
fn assert_logits(model: &Llama, reference: &Value) {
    let cases = reference["ids"].as_array().unwrap();
    for (input, expected) in cases.iter().zip(reference["logits"].as_array().unwrap()) {
        let expected: Vec<f32> = expected
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().clone())
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let diff = max_abs_diff(&logits(model, ids(input)), &expected);
        let bound = crate::common::matmul_bound(1e-4, 5e-3);
        assert!(diff < bound, "logits differ from PEFT's by {diff}");
    }
}

/// `model`'s merged layer-1 projections against the `merge_and_unload()` weights in `file`.
fn assert_merged(model: Llama, file: &Path) {
    let merged = model.merge_lora().to_weights().unwrap();
    let mut expected = WeightMap::new(file.display().to_string());
    read_safetensors(file, &mut expected).unwrap();
    assert_eq!(expected.tensors.len(), 7, "seven projections of layer 1");
    for (name, want) in &expected.tensors {
        let got = &merged.tensors[name];
        assert_eq!(got.shape, want.shape, "{name}");
        let diff = max_abs_diff(&got.data, &want.data);
        assert!(diff < 1e-6, "{name}: merged weights differ by {diff}");
    }
}

#[test]
fn peft_adapters_load_with_pefts_logits_and_merged_weights() {
    for name in ["all-r4", "rslora-qvd"] {
        let dir = fixtures().join("peft").join(name);
        let model = with_adapter(&dir);
        let reference = read_json(&format!("peft/{name}/reference.json"));
        assert_logits(&model, &reference);
        // The adapter moves the logits: the base alone does not match PEFT's.
        let base = logits(&tiny().model, ids(&reference["ids"][0]));
        let row: Vec<f32> = reference["logits"][0][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert!(max_abs_diff(&base[..row.len()], &row) > 1e-3, "{name}");
        // Merged, the plain model computes the same.
        assert_logits(&model.clone().merge_lora(), &reference);
        assert_merged(model, &dir.join("merged.safetensors"));
    }
}

#[test]
fn an_adapter_srlm_trained_reads_in_peft_with_the_same_logits_and_merged_weights() {
    // `srlm sft --lora 4` wrote it; PEFT's `PeftModel.from_pretrained` read it and wrote its
    // logits and `merge_and_unload()` weights beside it (tools/fixtures/peft_lora.py).
    let dir = fixtures().join("peft/srlm-trained");
    let model = with_adapter(&dir);
    assert_logits(&model, &read_json("peft/srlm-trained/peft-reference.json"));
    assert_merged(model, &dir.join("peft-merged.safetensors"));
}

#[test]
fn rslora_and_targets_are_read_from_the_config() {
    let config =
        peft::read_config(&fixtures().join("peft/rslora-qvd/adapter_config.json")).unwrap();
    assert_eq!(config.rank, 2);
    assert!(config.rslora);
    assert_eq!(
        config.targets,
        [LoraTarget::Query, LoraTarget::Value, LoraTarget::Down]
    );
    assert!((config.scale() - 3.0 / 2f64.sqrt()).abs() < 1e-12);
}

#[test]
fn saved_adapters_read_back_identically() {
    let dir = fixtures().join("peft/all-r4");
    let (config, mut original) = peft::load_adapter(&dir).unwrap();
    let model = tiny()
        .model
        .with_lora_weights(&config, &mut original.clone())
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    peft::save_adapter(scratch.path(), &model, &config, Some("tiny-llama3")).unwrap();
    let (again, saved) = peft::load_adapter(scratch.path()).unwrap();
    assert_eq!(again, config);
    assert_eq!(saved.tensors.len(), original.tensors.len());
    for (name, tensor) in &saved.tensors {
        let want = original.tensors.remove(name).expect("same names");
        assert_eq!(tensor.shape, want.shape, "{name}");
        assert_eq!(tensor.data, want.data, "{name}");
    }
}

#[test]
fn fresh_adapters_leave_the_model_unchanged_and_train_alone() {
    let lm = tiny();
    let input = vec![5, 6, 7, 8, 9];
    let adapted = lm.model.clone().with_lora(&LoraConfig::new(4), 3).unwrap();
    let diff = max_abs_diff(
        &logits(&adapted, input.clone()),
        &logits(&lm.model, input.clone()),
    );
    assert!(diff < 1e-6, "B = 0 changes nothing, got {diff}");

    // Under autodiff, only A and B receive gradients.
    let trained = adapted.fork(&device().autodiff()).train();
    let batch = TokenBatch::pad(&[input], 0, Padding::Right).unwrap();
    let loss = trained.forward(&batch).unwrap().powi_scalar(2).mean();
    let grads = GradientsParams::from_grads(loss.backward(), &trained);
    struct Count<'a> {
        grads: &'a GradientsParams,
        with: Vec<Vec<usize>>,
        without: usize,
    }
    impl ModuleVisitor for Count<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            match self.grads.get::<D>(param.id) {
                Some(g) => self.with.push(g.dims().to_vec()),
                None => self.without += 1,
            }
        }
    }
    let mut count = Count {
        grads: &grads,
        with: Vec::new(),
        without: 0,
    };
    trained.visit(&mut count);
    // 2 layers × 7 projections × (A, B); A `[in, 4]` and B `[4, out]`.
    assert_eq!(count.with.len(), 28, "{:?}", count.with);
    assert!(
        count.with.iter().all(|d| d.contains(&4)),
        "{:?}",
        count.with
    );
    // Embedding, 2 × (7 projections + 2 norms), final norm, head.
    assert_eq!(count.without, 1 + 2 * 9 + 1 + 1);
}

#[test]
fn adapters_that_do_not_fit_are_errors_naming_the_tensor() {
    let dir = fixtures().join("peft/all-r4");
    let (config, weights) = peft::load_adapter(&dir).unwrap();
    // Another rank than the tensors have.
    let mut other = config.clone();
    other.rank = 8;
    let err = tiny()
        .model
        .with_lora_weights(&other, &mut weights.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("lora_A.weight") && err.contains("[4, 64]"),
        "{err}"
    );
    assert!(err.contains("adapter_model.safetensors"), "{err}");
    // A target the file has no tensors for... (fewer targets: leftovers are named).
    let mut fewer = config.clone();
    fewer.targets = vec![LoraTarget::Query];
    let err = tiny()
        .model
        .with_lora_weights(&fewer, &mut weights.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is not an adapter of this model's targets"),
        "{err}"
    );
    // Rank 0 and an unknown target.
    let err = LoraConfig::new(0).validate().unwrap_err().to_string();
    assert!(err.contains("rank must be at least 1"), "{err}");
    let err = LoraTarget::parse("qkv_proj").unwrap_err().to_string();
    assert!(err.contains("qkv_proj") && err.contains("q_proj"), "{err}");
    // A config file asking for what srlm does not do.
    let scratch = tempfile::tempdir().unwrap();
    let mut settings: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(peft::CONFIG_FILE)).unwrap())
            .unwrap();
    settings["use_dora"] = Value::Bool(true);
    let path = scratch.path().join(peft::CONFIG_FILE);
    std::fs::write(&path, settings.to_string()).unwrap();
    let err = peft::read_config(&path).unwrap_err();
    assert!(matches!(err, ModelError::Config { .. }), "{err}");
    assert!(err.to_string().contains("use_dora"), "{err}");
    settings["use_dora"] = Value::Bool(false);
    settings["target_modules"] = serde_json::json!(["q_proj", "lm_head"]);
    std::fs::write(&path, settings.to_string()).unwrap();
    let err = peft::read_config(&path).unwrap_err().to_string();
    assert!(
        err.contains("lm_head") && err.contains(peft::CONFIG_FILE),
        "{err}"
    );
    // Adapters twice.
    let adapted = tiny().model.with_lora(&LoraConfig::new(2), 1).unwrap();
    let err = adapted
        .with_lora(&LoraConfig::new(2), 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("already has LoRA adapters"), "{err}");
}

#[test]
fn stacked_adapters_equal_the_adapters_merged_in_turn() {
    let first = peft::load_adapter(&fixtures().join("peft/all-r4")).unwrap();
    let second = peft::load_adapter(&fixtures().join("peft/rslora-qvd")).unwrap();
    let apply = |model: Llama, (config, weights): &(LoraConfig, WeightMap)| {
        model
            .with_lora_weights(config, &mut weights.clone())
            .unwrap()
            .merge_lora()
    };
    let in_turn = apply(apply(tiny().model, &first), &second);
    let (config, stacked) = srlm_model::lora::stack_adapters(&[first, second], 2).unwrap();
    assert_eq!(config.rank, 4 + 2);
    assert_eq!(config.targets.len(), 7, "the union of the targets");
    let at_once = apply(tiny().model, &(config, stacked));
    let (a, b) = (in_turn.to_weights().unwrap(), at_once.to_weights().unwrap());
    for (name, t) in &a.tensors {
        let diff = max_abs_diff(&t.data, &b.tensors[name].data);
        assert!(diff < 1e-6, "{name}: {diff}");
    }
    assert!(srlm_model::lora::stack_adapters(&[], 2).is_err());
}

#[test]
fn a_lora_table_without_alpha_takes_twice_its_rank() {
    let config: LoraConfig = serde_json::from_str(r#"{"rank": 8}"#).unwrap();
    assert_eq!((config.rank, config.alpha), (8, 16.0));
    assert_eq!(config.targets.len(), 7);
    let config: LoraConfig = serde_json::from_str(r#"{"rank": 8, "alpha": 4.0}"#).unwrap();
    assert_eq!(config.alpha, 4.0);
    let config: LoraConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config, LoraConfig::default());
    let err = serde_json::from_str::<LoraConfig>(r#"{"rank": 8, "alpah": 4.0}"#).unwrap_err();
    assert!(err.to_string().contains("alpah"), "{err}");
}

/// The adapted projections' frozen weights in bf16: the model scores as the f32 model with
/// those weights rounded to bf16 (to bf16's precision: the projections' inputs and products
/// are rounded too), only the adapters train, the gradients match the rounded model's, and
/// merging gives f32 weights: the rounded base plus the adapters.
#[test]
fn a_bf16_base_scores_and_trains_as_the_f32_model_with_its_weights_rounded() {
    use srlm_model::burn::tensor::DType;
    use srlm_model::LoraDtype;

    let lm = tiny();
    let bf16 = LoraConfig {
        base_dtype: LoraDtype::Bf16,
        ..LoraConfig::new(4)
    };
    let adapted = lm.model.clone().with_lora(&bf16, 3).unwrap();
    let q = |m: &Llama| m.layers[0].attention.q.weight.dtype();
    assert_eq!(q(&adapted), DType::BF16);
    // The same weights, rounded to bf16 and stored back in f32, with the same fresh adapters.
    let rounded = lm
        .model
        .clone()
        .with_base_dtype(&bf16)
        .unwrap()
        .with_base_dtype(&LoraConfig::new(4))
        .unwrap();
    assert_eq!(q(&rounded), DType::F32);
    // The adapters are copied, not drawn again from the same seed: the device's generator is
    // shared with the tests running beside this one, which may draw in between (on burn's `cpu`
    // backend, under load, they did: B's gradients then differed by more than their scale).
    let rounded = rounded
        .with_lora_weights(&LoraConfig::new(4), &mut adapted.lora_weights().unwrap())
        .unwrap();
    let input = vec![5, 6, 7, 8, 9, 10, 11];
    let (a, r) = (
        logits(&adapted, input.clone()),
        logits(&rounded, input.clone()),
    );
    let scale = r.iter().fold(0f32, |m, x| m.max(x.abs()));
    let diff = max_abs_diff(&a, &r);
    // Measured on flex: 0.4 % of the largest logit.
    assert!(diff < 1e-2 * scale, "logits {diff} apart (scale {scale})");
    // Not the f32 path: the activations are rounded too.
    assert!(diff > 0.0);

    // Gradients reach the adapters only, close to the rounded model's.
    let grads_of = |model: &Llama| {
        let trained = model.clone().fork(&device().autodiff()).train();
        let batch = TokenBatch::pad(std::slice::from_ref(&input), 0, Padding::Right).unwrap();
        let loss = trained.forward(&batch).unwrap().powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &trained);
        let adapter = trained.layers[1].mlp.down.weight.adapter().unwrap();
        let base = trained.layers[1].mlp.down.weight.id;
        assert!(
            grads.get::<2>(base).is_none(),
            "the frozen base got a gradient"
        );
        // B is zero at the start, so A's gradient is too: B's is the one to compare.
        grads
            .get::<2>(adapter.b.id)
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap()
    };
    let (ga, gr) = (grads_of(&adapted), grads_of(&rounded));
    let scale = gr.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(scale > 0.0);
    let diff = max_abs_diff(&ga, &gr);
    // Measured on flex: 0.7 % of the largest element.
    assert!(diff < 2.5e-2 * scale, "dB {diff} apart (scale {scale})");

    // Merged: f32 again, the rounded base plus the adapters' product.
    let merged = adapted.merge_lora();
    assert_eq!(q(&merged), DType::F32);
    let diff = max_abs_diff(
        &merged.to_weights().unwrap().tensors["model.layers.0.self_attn.q_proj.weight"].data,
        &rounded.merge_lora().to_weights().unwrap().tensors
            ["model.layers.0.self_attn.q_proj.weight"]
            .data,
    );
    assert_eq!(diff, 0.0, "merged weights differ by {diff}");
}

#[test]
fn the_base_dtype_is_read_by_name_and_refused_on_an_adapted_model() {
    let config: LoraConfig = serde_json::from_str(r#"{"rank": 8, "base_dtype": "bf16"}"#).unwrap();
    assert_eq!(config.base_dtype, srlm_model::LoraDtype::Bf16);
    let err = serde_json::from_str::<LoraConfig>(r#"{"base_dtype": "fp8"}"#).unwrap_err();
    assert!(err.to_string().contains("fp8"), "{err}");
    assert!(srlm_model::LoraDtype::parse("fp8").is_err());
    let adapted = tiny().model.with_lora(&LoraConfig::new(2), 1).unwrap();
    let err = adapted.with_base_dtype(&config).unwrap_err().to_string();
    assert!(err.contains("adapters"), "{err}");
}

#[test]
fn a_random_model_drawn_over_a_bf16_base_equals_one_cast_after_it_is_drawn() {
    use srlm_model::burn::tensor::DType;
    use srlm_model::{LlamaConfig, LoraDtype};

    let config = LlamaConfig::tiny(64, 32, 2, 4, 2);
    // Only the attention's query and value: the other projections stay f32.
    let lora = LoraConfig {
        base_dtype: LoraDtype::Bf16,
        targets: vec![LoraTarget::Query, LoraTarget::Value],
        ..LoraConfig::new(4)
    };
    let drawn = Llama::random_with_base_dtype(&config, &device(), 7, &lora).unwrap();
    let cast = Llama::random(&config, &device(), 7)
        .unwrap()
        .with_base_dtype(&lora)
        .unwrap();
    for layer in 0..2 {
        for target in LoraTarget::ALL {
            let expected = if lora.targets.contains(&target) {
                DType::BF16
            } else {
                DType::F32
            };
            let (a, m) = (&drawn.layers[layer].attention, &drawn.layers[layer].mlp);
            let linear = match target {
                LoraTarget::Query => &a.q,
                LoraTarget::Key => &a.k,
                LoraTarget::Value => &a.v,
                LoraTarget::Output => &a.o,
                LoraTarget::Gate => &m.gate,
                LoraTarget::Up => &m.up,
                LoraTarget::Down => &m.down,
            };
            assert_eq!(linear.weight.dtype(), expected, "layer {layer} {target:?}");
        }
    }
    let (a, b) = (drawn.to_weights().unwrap(), cast.to_weights().unwrap());
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, tensor) in &a.tensors {
        assert_eq!(tensor.data, b.tensors[name].data, "{name}");
    }
    // Drawn over an f32 base, it is the plain random model.
    let plain = Llama::random_with_base_dtype(&config, &device(), 7, &LoraConfig::new(4)).unwrap();
    let random = Llama::random(&config, &device(), 7).unwrap();
    assert_eq!(
        plain.to_weights().unwrap().tensors["model.layers.1.mlp.up_proj.weight"].data,
        random.to_weights().unwrap().tensors["model.layers.1.mlp.up_proj.weight"].data
    );
}

/// Loading over a bf16 base (each projection cast as it is read) gives the model that loading
/// in f32 and casting afterwards gives.
fn assert_loads_as_cast(path: &Path, lora: &LoraConfig) {
    let read = LanguageModel::load_with_base_dtype(path, &device(), lora).unwrap();
    let cast = LanguageModel::load(path, &device())
        .unwrap()
        .with_base_dtype(lora)
        .unwrap();
    let q = |m: &Llama| m.layers[0].attention.q.weight.dtype();
    assert_eq!(q(&read.model), q(&cast.model));
    assert_eq!(read.fingerprint().unwrap(), cast.fingerprint().unwrap());
}

#[test]
fn a_model_loaded_over_a_bf16_base_equals_one_cast_after_loading() {
    let lora = LoraConfig {
        base_dtype: srlm_model::LoraDtype::Bf16,
        ..LoraConfig::new(4)
    };
    assert_loads_as_cast(&fixtures().join("tiny-llama3"), &lora);
    assert_loads_as_cast(&fixtures().join("tiny-qwen2"), &lora);
}

#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn smollm2_loaded_over_a_bf16_base_equals_it_cast_after_loading() {
    let lora = LoraConfig {
        base_dtype: srlm_model::LoraDtype::Bf16,
        targets: vec![LoraTarget::Query, LoraTarget::Down],
        ..LoraConfig::new(4)
    };
    assert_loads_as_cast(&crate::common::smollm2_path(), &lora);
}
