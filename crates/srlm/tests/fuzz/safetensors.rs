//! Safetensors files and the shard index of a Hugging Face folder.

use proptest::prelude::*;
use serde_json::{json, Value};
use srlm::model::{parse_device, read_safetensors, safetensors_files, LanguageModel, WeightMap};

use super::{apply, edits, fixtures, fuzz, temp_file};

fn shard_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "model-00001-of-00005.safetensors",
            "model-00002-of-00005.safetensors",
            "../model-00001-of-00005.safetensors",
            "/etc/passwd",
            "sub/model.safetensors",
            "",
            ".",
            "..",
            "model.safetensors\u{0}x",
        ])
        .prop_map(|s| json!(s)),
        1 => "\\PC{0,24}".prop_map(|s| json!(s)),
        1 => prop_oneof![Just(json!(3)), Just(json!(null)), Just(json!([])), Just(json!({}))],
    ]
}

fn index() -> impl Strategy<Value = Vec<u8>> {
    let real = std::fs::read(fixtures().join("tiny-llama3/model.safetensors.index.json"))
        .expect("tests/fixtures/tiny-llama3");
    prop_oneof![
        prop::collection::btree_map("\\PC{0,24}", shard_name(), 0..6).prop_map(|map| {
            serde_json::to_vec(&json!({ "weight_map": map })).unwrap_or_default()
        }),
        edits().prop_map(move |e| apply(real.clone(), &e)),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

#[test]
fn safetensors_index() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("model");
    std::fs::create_dir(&dir).unwrap();
    fuzz("safetensors-index", index(), |bytes| {
        temp_file(&dir, "model.safetensors.index.json", &bytes);
        if let Ok(files) = safetensors_files(&dir) {
            for file in files {
                // Every shard the index names is a file of the model folder.
                prop_assert_eq!(file.parent(), Some(dir.as_path()));
            }
        }
        Ok(())
    });
}

fn shard() -> impl Strategy<Value = Vec<u8>> {
    let real = std::fs::read(fixtures().join("tiny-llama3/model-00002-of-00005.safetensors"))
        .expect("tests/fixtures/tiny-llama3");
    prop_oneof![
        4 => edits().prop_map(move |e| apply(real.clone(), &e)),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

#[test]
fn safetensors_shards_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for entry in std::fs::read_dir(fixtures().join("tiny-llama3")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), model.join(entry.file_name())).unwrap();
    }
    let device = parse_device("cpu").unwrap();
    fuzz("safetensors", shard(), |bytes| {
        let path = temp_file(&model, "model-00002-of-00005.safetensors", &bytes);
        let mut weights = WeightMap::new("fuzz");
        let _ = read_safetensors(&path, &mut weights);
        let _ = LanguageModel::load(&model, &device);
        Ok(())
    });
}
