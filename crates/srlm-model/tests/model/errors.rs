//! Bad input gives a clear error naming what and where, never a panic.

use std::path::Path;

use srlm_model::{LanguageModel, Llama, LlamaConfig, ModelError, Tokenizer, TokenizerConfig};

use crate::common::{device, fixtures};

fn load_err(path: &Path) -> ModelError {
    LanguageModel::load(path, &device()).expect_err("loading must fail")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn missing_file_names_the_path() {
    let err = load_err(Path::new("/nonexistent/model.gguf"));
    assert!(matches!(err, ModelError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/model.gguf"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_device_file_is_not_a_model_and_is_not_called_missing() {
    let text = load_err(Path::new("/dev/null")).to_string();
    assert!(
        text.contains("/dev/null") && text.contains("not a model"),
        "{text}"
    );
    assert!(!text.contains("no such file"), "{text}");
}

#[test]
fn truncated_gguf_is_reported_with_offsets() {
    let bytes = std::fs::read(fixtures().join("quant.gguf")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The last cut goes past the final tensor's padding (up to 31 bytes) into its data.
    for cut in [3, 20, 200, bytes.len() - 40] {
        let path = dir.path().join(format!("cut{cut}.gguf"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = match srlm_model::gguf::GgufFile::open(&path) {
            Err(e) => e,
            Ok(file) => {
                let results: Vec<_> = file.header.tensors.iter().map(|t| file.tensor(t)).collect();
                results
                    .into_iter()
                    .find_map(Result::err)
                    .expect("a truncated tensor must fail")
            }
        };
        let text = err.to_string();
        assert!(
            text.contains("truncated") && text.contains(&format!("cut{cut}.gguf")),
            "{text}"
        );
    }
}

/// A hand-written GGUF holding one tensor of the given GGML type.
fn gguf_with_tensor(type_id: u32, n: u64, data_len: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(b"GGUF");
    b.extend(3u32.to_le_bytes());
    b.extend(1u64.to_le_bytes()); // tensors
    b.extend(1u64.to_le_bytes()); // metadata
    let key = b"general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key);
    b.extend(8u32.to_le_bytes());
    b.extend(5u64.to_le_bytes());
    b.extend(b"llama");
    let name = b"blk.0.attn_q.weight";
    b.extend((name.len() as u64).to_le_bytes());
    b.extend(name);
    b.extend(1u32.to_le_bytes());
    b.extend(n.to_le_bytes());
    b.extend(type_id.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    while b.len() % 32 != 0 {
        b.push(0);
    }
    b.extend(std::iter::repeat_n(0u8, data_len));
    b
}

#[test]
fn unknown_gguf_tensor_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.gguf");
    std::fs::write(&path, gguf_with_tensor(11, 256, 110)).unwrap();
    let file = srlm_model::gguf::GgufFile::open(&path).unwrap();
    let err = file.tensor(&file.header.tensors[0]).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ModelError::UnsupportedTensorType { type_id: 11, .. }),
        "{err:?}"
    );
    assert!(
        text.contains("blk.0.attn_q.weight") && text.contains("Q3_K"),
        "{text}"
    );
}

#[test]
fn a_gguf_tensor_larger_than_any_file_is_an_error_not_an_overflow() {
    // Found by the fuzz target (`crates/srlm/tests/fuzz`): the byte count of a tensor with
    // 2^62 f32 values overflowed, a panic in a build with overflow checks.
    let dir = tempfile::tempdir().unwrap();
    for (type_id, n) in [(0, 1u64 << 62), (0, u64::MAX), (8, u64::MAX - 31)] {
        let path = dir.path().join("huge.gguf");
        std::fs::write(&path, gguf_with_tensor(type_id, n, 64)).unwrap();
        let file = srlm_model::gguf::GgufFile::open(&path).unwrap();
        let err = file.tensor(&file.header.tensors[0]).unwrap_err();
        assert!(err.to_string().contains("blk.0.attn_q.weight"), "{err}");
    }
}

#[test]
fn bad_magic_and_garbage_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("magic.gguf", b"GGMLxxxxxxxxxxxxxxxxxxxxxxxx".to_vec()),
        ("empty.gguf", vec![]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = load_err(&path);
        assert!(matches!(err, ModelError::Gguf { .. }), "{name}: {err:?}");
    }
}

#[test]
fn shape_mismatch_names_tensor_and_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("tiny-llama3"), dir.path());
    let config_path = dir.path().join("config.json");
    let text = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        text.replace("\"intermediate_size\": 96", "\"intermediate_size\": 100"),
    )
    .unwrap();
    let err = load_err(dir.path());
    let text = err.to_string();
    assert!(
        text.contains("model.layers.0.mlp.gate_proj.weight"),
        "{text}"
    );
    assert!(
        text.contains("[96, 64]") && text.contains("[100, 64]"),
        "{text}"
    );
}

#[test]
fn malformed_config_and_truncated_safetensors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("tiny-llama3"), dir.path());
    std::fs::write(
        dir.path().join("config.json"),
        "{\n  \"vocab_size\": \"many\"\n}",
    )
    .unwrap();
    let text = load_err(dir.path()).to_string();
    assert!(
        text.contains("config.json") && text.contains("line 2"),
        "{text}"
    );

    copy_dir(&fixtures().join("tiny-llama3"), dir.path());
    let shard = dir.path().join("model-00002-of-00005.safetensors");
    let bytes = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_err(dir.path());
    assert!(matches!(err, ModelError::Safetensors { .. }), "{err:?}");
    assert!(
        err.to_string().contains("model-00002-of-00005.safetensors"),
        "{err}"
    );
}

#[test]
fn tokenizer_larger_than_the_vocabulary_is_refused() {
    let tokenizer = Tokenizer::from_file(&fixtures().join("tiny-llama3/tokenizer.json")).unwrap();
    let config = LlamaConfig::tiny(100, 16, 1, 2, 2);
    let model = Llama::random(&config, &device(), 0).unwrap();
    let err =
        LanguageModel::from_parts(model, config, tokenizer.clone(), TokenizerConfig::default())
            .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&tokenizer.vocab_size().to_string()) && text.contains("100"),
        "{text}"
    );
}

#[test]
fn empty_prompt_and_bad_sampling_are_invalid_input() {
    let lm = LanguageModel::load(&fixtures().join("tiny-llama3"), &device()).unwrap();
    assert!(matches!(
        lm.encode_prompt("", false),
        Err(ModelError::InvalidInput(_))
    ));
    assert!(matches!(
        lm.encode_prompt("   \n", true),
        Err(ModelError::InvalidInput(_))
    ));
    assert!(matches!(
        lm.logprobs(&[("hi", "")]),
        Err(ModelError::InvalidInput(_))
    ));
    assert!(matches!(
        lm.generate(&[vec![]], &Default::default()),
        Err(ModelError::InvalidInput(_))
    ));
    let bad = srlm_model::GenerationConfig {
        sampling: srlm_model::SamplingParams {
            temperature: -1.0,
            top_p: 1.0,
            top_k: 0,
        },
        ..Default::default()
    };
    assert!(matches!(
        lm.generate(&[vec![1, 2]], &bad),
        Err(ModelError::InvalidInput(_))
    ));
    let out_of_vocab = srlm_model::TokenBatch::column(vec![100_000]);
    assert!(matches!(
        lm.model.forward(&out_of_vocab),
        Err(ModelError::InvalidInput(_))
    ));
}

#[test]
fn unknown_device_names_the_feature() {
    let err = srlm_model::parse_device("tpu").unwrap_err().to_string();
    assert!(err.contains("tpu"), "{err}");
    #[cfg(not(feature = "cuda"))]
    {
        let err = srlm_model::parse_device("cuda:0").unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
    #[cfg(not(feature = "cpu"))]
    {
        let err = srlm_model::parse_device("cubecl-cpu")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--features cpu"), "{err}");
    }
    let err = srlm_model::parse_device("wgpu:x").unwrap_err().to_string();
    assert!(err.contains("`x` is not a device index"), "{err}");
}

#[test]
fn device_from_env_names_the_variable() {
    // A variable no other test sets: unset → the default; set to nonsense → an error naming it.
    let var = "SRLM_TEST_DEVICE_FOR_ENV_TEST";
    std::env::remove_var(var);
    assert!(srlm_model::device_from_env(var, "cpu").is_ok());
    std::env::set_var(var, "tpu");
    let err = srlm_model::device_from_env(var, "cpu")
        .unwrap_err()
        .to_string();
    std::env::remove_var(var);
    assert!(err.contains(var) && err.contains("tpu"), "{err}");
}

/// The one atomic writer: the whole new content or the old, no temporary file left behind, and
/// a clear error naming the path when the folder does not exist.
#[test]
fn atomic_writes_replace_whole_files_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("out.json");
    srlm_model::write_atomic(&path, b"first").unwrap();
    srlm_model::write_atomic(&path, b"second, longer").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["out.json"]);
    let missing = tmp.path().join("no-such-folder").join("x.json");
    let err = srlm_model::write_atomic(&missing, b"x").unwrap_err();
    assert!(err.to_string().contains("no-such-folder"), "{err}");
    // A folder renamed durably.
    let partial = tmp.path().join("M1.partial");
    std::fs::create_dir(&partial).unwrap();
    srlm_model::write_atomic(&partial.join("config.json"), b"{}").unwrap();
    srlm_model::rename_durable(&partial, &tmp.path().join("M1")).unwrap();
    assert!(tmp.path().join("M1/config.json").is_file() && !partial.exists());
}

/// Issue 41, finding 7: a model with NaN weights was saved and then used (`logprob` printed
/// `null`, generation emitted token 0 forever). Loading one is an error naming the tensor, and so
/// is saving one.
#[test]
fn non_finite_weights_are_neither_loaded_nor_saved() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("tiny-llama3"), dir.path());
    let shard = dir.path().join("model-00001-of-00005.safetensors");
    let mut weights = srlm_model::WeightMap::new(shard.display().to_string());
    srlm_model::read_safetensors(&shard, &mut weights).unwrap();
    let (name, tensor) = weights.tensors.iter_mut().next().unwrap();
    let name = name.clone();
    tensor.data[3] = f32::NAN;
    srlm_model::write_safetensors(&shard, &weights).unwrap();
    let err = load_err(dir.path());
    assert!(
        matches!(&err, ModelError::NonFiniteWeight { tensor, index: 3, .. } if *tensor == name),
        "{err:?}"
    );
    // A map with an infinity is refused by the check every save runs.
    weights.tensors.get_mut(&name).unwrap().data[3] = f32::INFINITY;
    let err = weights.check_finite().unwrap_err();
    assert!(err.to_string().contains(&name), "{err}");
    // The clean model saves; the check passes on its weights.
    let lm = LanguageModel::load(&fixtures().join("tiny-llama3"), &device()).unwrap();
    lm.model.to_weights().unwrap().check_finite().unwrap();
    lm.save_pretrained(&dir.path().join("saved")).unwrap();
}

#[test]
fn a_weights_index_naming_a_file_outside_the_model_folder_is_refused() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("model");
    std::fs::create_dir(&dir).unwrap();
    copy_dir(&fixtures().join("tiny-llama3"), &dir);
    // The shard moves up a folder and the index follows it there: before, the load read it.
    let shard = "model-00002-of-00005.safetensors";
    std::fs::rename(dir.join(shard), outer.path().join(shard)).unwrap();
    let index = dir.join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    assert!(text.contains(shard));
    std::fs::write(&index, text.replace(shard, &format!("../{shard}"))).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, ModelError::Config { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("model.safetensors.index.json") && text.contains(&format!("../{shard}")),
        "{text}"
    );
}

#[test]
fn a_config_larger_than_the_machine_is_refused_with_the_numbers() {
    let lm = LanguageModel::load(&fixtures().join("tiny-llama3"), &device()).unwrap();
    // The count is the parameters actually built, plus cos and sin for every position.
    let built: usize = lm
        .model
        .to_weights()
        .unwrap()
        .tensors
        .values()
        .map(|t| t.data.len())
        .sum();
    let rotary = 2 * lm.config.max_position_embeddings * lm.config.head_dim();
    assert_eq!(lm.config.host_bytes(), Some(4 * (built + rotary) as u64));
    // 2^40 positions: before, building the rotary tables aborted the process.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("tiny-llama3"), dir.path());
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let huge = text.replace(
        "\"max_position_embeddings\": 128",
        "\"max_position_embeddings\": 1099511627776",
    );
    assert_ne!(text, huge);
    std::fs::write(dir.path().join("config.json"), huge).unwrap();
    let err = load_err(dir.path()).to_string();
    assert!(
        err.contains("GiB") && err.contains("1099511627776"),
        "{err}"
    );
    let mut overflow = lm.config.clone();
    overflow.max_position_embeddings = usize::MAX;
    assert!(overflow.validate().unwrap_err().contains("overflows"));
}
