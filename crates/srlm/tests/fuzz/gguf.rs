//! The GGUF reader: header, metadata, tensor directory, tensors, config, tokenizer, whole load.

use proptest::prelude::*;
use srlm::model::gguf::{parse_header, GgufFile};
use srlm::model::{parse_device, LanguageModel};

use super::{apply, boundary_u64, edits, fixtures, fuzz, temp_file};

/// A metadata value of GGUF type `type_id` (0–12, and unknown ones), as bytes.
fn value_bytes(type_id: u32) -> BoxedStrategy<Vec<u8>> {
    match type_id {
        0 | 1 | 7 => prop::collection::vec(any::<u8>(), 1).boxed(),
        2 | 3 => prop::collection::vec(any::<u8>(), 2).boxed(),
        4..=6 => prop::collection::vec(any::<u8>(), 4).boxed(),
        8 => (boundary_u64(), "\\PC{0,12}")
            .prop_map(|(len, s): (u64, String)| {
                // A declared length that is the string's own most of the time.
                let len = if len % 3 == 0 { len } else { s.len() as u64 };
                let mut out = len.to_le_bytes().to_vec();
                out.extend(s.as_bytes());
                out
            })
            .boxed(),
        9 => (
            0u32..14,
            boundary_u64(),
            prop::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(item, n, body)| {
                let mut out = item.to_le_bytes().to_vec();
                out.extend(
                    (n % 5_000)
                        .max(if n > 1 << 20 { n } else { 0 })
                        .to_le_bytes(),
                );
                out.extend(body);
                out
            })
            .boxed(),
        _ => prop::collection::vec(any::<u8>(), 0..9).boxed(),
    }
}

/// A metadata key: a real one (so the config and tokenizer readers see values of every type)
/// or any string.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "general.architecture",
            "general.alignment",
            "llama.context_length",
            "llama.embedding_length",
            "llama.feed_forward_length",
            "llama.block_count",
            "llama.attention.head_count",
            "llama.attention.head_count_kv",
            "llama.rope.freq_base",
            "llama.attention.layer_norm_rms_epsilon",
            "llama.vocab_size",
            "tokenizer.ggml.model",
            "tokenizer.ggml.tokens",
            "tokenizer.ggml.merges",
            "tokenizer.ggml.token_type",
            "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id",
            "tokenizer.chat_template",
        ])
        .prop_map(String::from),
        "\\PC{0,16}",
    ]
}

fn tensor_info() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![
            "token_embd.weight",
            "blk.0.attn_q.weight",
            "output.weight",
            "x",
        ]),
        0u32..6,
        prop::collection::vec(boundary_u64(), 0..5),
        prop_oneof![
            Just(0u32),
            Just(1),
            Just(2),
            Just(3),
            Just(8),
            Just(30),
            any::<u32>()
        ],
        boundary_u64(),
    )
        .prop_map(|(name, n_dims, dims, type_id, offset)| {
            let mut out = (name.len() as u64).to_le_bytes().to_vec();
            out.extend(name.as_bytes());
            out.extend(n_dims.to_le_bytes());
            for d in dims.iter().take(n_dims as usize) {
                out.extend((if d % 2 == 0 { d % 64 } else { *d }).to_le_bytes());
            }
            out.extend(type_id.to_le_bytes());
            out.extend(offset.to_le_bytes());
            out
        })
}

/// A GGUF file from its structure: magic, version, counts (true or not), metadata, tensor
/// directory, some data.
fn structured() -> impl Strategy<Value = Vec<u8>> {
    let entry = (key(), prop_oneof![0u32..13, any::<u32>()])
        .prop_flat_map(|(k, t)| (Just(k), Just(t), value_bytes(t)));
    (
        prop_oneof![Just(3u32), Just(2), any::<u32>()],
        prop::collection::vec(entry, 0..10),
        prop::collection::vec(tensor_info(), 0..4),
        prop::option::of(boundary_u64()),
        prop::option::of(boundary_u64()),
        prop::collection::vec(any::<u8>(), 0..256),
    )
        .prop_map(
            |(version, entries, tensors, kv_count, tensor_count, data)| {
                let mut out = b"GGUF".to_vec();
                out.extend(version.to_le_bytes());
                out.extend(tensor_count.unwrap_or(tensors.len() as u64).to_le_bytes());
                out.extend(kv_count.unwrap_or(entries.len() as u64).to_le_bytes());
                for (k, t, v) in entries {
                    out.extend((k.len() as u64).to_le_bytes());
                    out.extend(k.as_bytes());
                    out.extend(t.to_le_bytes());
                    out.extend(v);
                }
                for t in tensors {
                    out.extend(t);
                }
                out.extend(data);
                out
            },
        )
}

fn gguf_input() -> impl Strategy<Value = Vec<u8>> {
    let seed = std::fs::read(fixtures().join("quant.gguf")).expect("tests/fixtures/quant.gguf");
    prop_oneof![
        edits().prop_map(move |e| apply(seed.clone(), &e)),
        structured(),
        (structured(), edits()).prop_map(|(b, e)| apply(b, &e)),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

#[test]
fn gguf_reader() {
    let dir = tempfile::tempdir().unwrap();
    let device = parse_device("cpu").unwrap();
    fuzz("gguf", gguf_input(), |bytes| {
        let path = temp_file(dir.path(), "model.gguf", &bytes);
        if let Ok(header) = parse_header(&bytes, &path) {
            if let Ok(file) = GgufFile::open(&path) {
                for info in &header.tensors {
                    let _ = file.tensor(info);
                }
                if let Ok(config) = file.config() {
                    let _ = file.weights(&config);
                }
                let _ = file.tokenizer_json();
                let _ = file.chat_template();
            }
        }
        let _ = LanguageModel::load_gguf(&path, &device);
        Ok(())
    });
}
