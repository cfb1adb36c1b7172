//! Hugging Face model directories: reading (`config.json`, `model.safetensors` or shards,
//! `tokenizer.json`, `tokenizer_config.json`) and writing the same layout, atomically.

use std::fs::File;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use memmap2::Mmap;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde_json::Value;

use crate::error::{ModelError, Result};
use crate::weights::{HostTensor, WeightMap};

pub(crate) fn st_err(path: &Path, reason: impl Into<String>) -> ModelError {
    ModelError::Safetensors {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Memory-maps `path` read-only (GGUF and safetensors files).
#[allow(unsafe_code)]
pub(crate) fn map_file(path: &Path) -> Result<Mmap> {
    let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    // SAFETY: the map is read-only and the file is opened read-only; as with every mmap-based
    // loader, another process truncating the file while it is mapped is outside our control.
    unsafe { Mmap::map(&file) }.map_err(|e| ModelError::io(path, e))
}

/// `len` bytes of `file` from byte `start`, read (not mapped).
pub(crate) fn read_range(file: &File, start: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut reader = file;
    let mut bytes = vec![0u8; len];
    reader.seek(SeekFrom::Start(start))?;
    reader.read_exact(&mut bytes)?;
    Ok(bytes)
}

pub(crate) fn to_f32(view: &TensorView<'_>, name: &str, path: &Path) -> Result<Vec<f32>> {
    let bytes = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(st_err(
                path,
                format!("tensor `{name}` has dtype {other:?} (supported: F32, F16, BF16)"),
            ))
        }
    })
}

/// Reads every tensor of one safetensors file into `map`.
pub fn read_safetensors(path: &Path, map: &mut WeightMap) -> Result<()> {
    let bytes = map_file(path)?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| st_err(path, e.to_string()))?;
    for (name, view) in tensors.tensors() {
        let data = to_f32(&view, &name, path)?;
        map.insert(name, HostTensor::new(view.shape().to_vec(), data)?);
    }
    Ok(())
}

/// The safetensors files of a directory: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json`.
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    if !index.is_file() {
        return Err(ModelError::io(
            &single,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "neither model.safetensors nor model.safetensors.index.json exists",
            ),
        ));
    }
    let text = std::fs::read_to_string(&index).map_err(|e| ModelError::io(&index, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: index.clone(),
        reason: format!("line {}, column {}: {e}", e.line(), e.column()),
    })?;
    let map = value
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| ModelError::Config {
            path: index.clone(),
            reason: "`weight_map` is missing or not an object".into(),
        })?;
    let mut files = Vec::with_capacity(map.len());
    for (tensor, file) in map {
        // A shard is a file of the model folder: a bare name, never a path out of it.
        let shard = file.as_str().filter(|f| {
            let mut parts = Path::new(f).components();
            matches!(parts.next(), Some(std::path::Component::Normal(_))) && parts.next().is_none()
        });
        let Some(shard) = shard else {
            return Err(ModelError::Config {
                path: index.clone(),
                reason: format!(
                    "`weight_map` entry `{tensor}` names {file}: a shard must be a file name in the model folder"
                ),
            });
        };
        files.push(dir.join(shard));
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Chat template and special-token strings from `tokenizer_config.json` (and
/// `chat_template.jinja`, where newer transformers saves the template).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenizerConfig {
    /// The default chat template.
    pub chat_template: Option<String>,
    /// `bos_token`.
    pub bos_token: Option<String>,
    /// `eos_token`.
    pub eos_token: Option<String>,
    /// `pad_token`.
    pub pad_token: Option<String>,
}

fn token_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

impl TokenizerConfig {
    /// Reads what is present in `dir`; missing files give empty fields.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer_config.json");
        let mut config = TokenizerConfig::default();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
            let value: Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
                path: path.clone(),
                reason: format!("line {}, column {}: {e}", e.line(), e.column()),
            })?;
            config.chat_template = match value.get("chat_template") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(list)) => list
                    .iter()
                    .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
                    .and_then(|t| t.get("template"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                _ => None,
            };
            config.bos_token = token_string(value.get("bos_token"));
            config.eos_token = token_string(value.get("eos_token"));
            config.pad_token = token_string(value.get("pad_token"));
        }
        let jinja = dir.join("chat_template.jinja");
        if config.chat_template.is_none() && jinja.is_file() {
            config.chat_template =
                Some(std::fs::read_to_string(&jinja).map_err(|e| ModelError::io(&jinja, e))?);
        }
        Ok(config)
    }

    /// The `tokenizer_config.json` that transformers reads back.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert(
            "tokenizer_class".into(),
            Value::from("PreTrainedTokenizerFast"),
        );
        out.insert("clean_up_tokenization_spaces".into(), Value::from(false));
        for (key, value) in [
            ("bos_token", &self.bos_token),
            ("eos_token", &self.eos_token),
            ("pad_token", &self.pad_token),
            ("chat_template", &self.chat_template),
        ] {
            if let Some(v) = value {
                out.insert(key.into(), Value::from(v.clone()));
            }
        }
        Value::Object(out)
    }
}

/// One `f32` tensor of a [`WeightMap`] as safetensors sees it: its bytes borrowed where the
/// machine is little-endian (safetensors' byte order), so writing copies nothing.
/// `values` as safetensors stores them, little-endian: their own bytes where the machine is.
fn le_bytes(values: &[f32]) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(target_endian = "little")]
    {
        std::borrow::Cow::Borrowed(bytemuck::cast_slice(values))
    }
    #[cfg(not(target_endian = "little"))]
    {
        std::borrow::Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

struct F32View<'a> {
    shape: &'a [usize],
    data: &'a [f32],
}

impl safetensors::View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        self.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        le_bytes(self.data)
    }

    fn data_len(&self) -> usize {
        std::mem::size_of_val(self.data)
    }
}

/// A tensor [`write_safetensors_lazily`] writes: its name, its shape, and how to read its
/// values, called when the file reaches it.
pub struct LazyTensor<'a> {
    /// The tensor's name in the file.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Reads its values (row-major, as many as the shape says).
    pub read: Box<dyn Fn() -> Result<Vec<f32>> + 'a>,
}

/// A [`LazyTensor`] as safetensors sees it: its values read on the first call for its bytes and
/// kept until the view is dropped (the writer drops each view once written); a failed or short
/// read is kept in `error` (and zeros written, in a file that is then discarded).
struct LazyView<'a, 'b> {
    tensor: &'b LazyTensor<'a>,
    error: &'b std::cell::RefCell<Option<ModelError>>,
    values: std::cell::OnceCell<Vec<f32>>,
}

impl LazyView<'_, '_> {
    fn read(&self) -> Vec<f32> {
        let len = self.tensor.shape.iter().product::<usize>();
        let reason = match (self.tensor.read)() {
            Ok(values) if values.len() == len => return values,
            Ok(values) => format!(
                "`{}`: shape {:?} but {} values",
                self.tensor.name,
                self.tensor.shape,
                values.len()
            ),
            Err(e) => format!("`{}`: {e}", self.tensor.name),
        };
        self.error
            .borrow_mut()
            .get_or_insert(ModelError::InvalidInput(reason));
        vec![0.0; len]
    }
}

impl safetensors::View for LazyView<'_, '_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.tensor.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        le_bytes(self.values.get_or_init(|| self.read()))
    }

    fn data_len(&self) -> usize {
        self.tensor.shape.iter().product::<usize>() * std::mem::size_of::<f32>()
    }
}

/// Writes `tensors` as one `f32` safetensors file, atomically, reading each tensor's values
/// only when the file reaches it: one tensor's host copy at a time (the optimizer's moments of
/// a checkpoint, which would otherwise be copied whole — twice the model — before writing).
pub fn write_safetensors_lazily(path: &Path, tensors: &[LazyTensor<'_>]) -> Result<()> {
    let error = std::cell::RefCell::new(None);
    let views = tensors.iter().map(|tensor| {
        (
            tensor.name.clone(),
            LazyView {
                tensor,
                error: &error,
                values: std::cell::OnceCell::new(),
            },
        )
    });
    crate::atomic::write_atomic_with(path, |tmp| {
        safetensors::serialize_to_file(views, None, tmp).map_err(std::io::Error::other)?;
        match error.borrow_mut().take() {
            Some(e) => Err(std::io::Error::other(e.to_string())),
            None => Ok(()),
        }
    })
}

/// Serialises `weights` as one `f32` safetensors file with the `{"format": "pt"}` metadata
/// transformers expects, streamed to disk from the weights' own buffers (no copy of the model
/// in memory), atomically.
pub fn write_safetensors(path: &Path, weights: &WeightMap) -> Result<()> {
    let mut views = Vec::with_capacity(weights.tensors.len());
    for (name, t) in &weights.tensors {
        if t.shape.iter().product::<usize>() != t.data.len() {
            return Err(st_err(
                path,
                format!("`{name}`: shape {:?} but {} values", t.shape, t.data.len()),
            ));
        }
        let view = F32View {
            shape: &t.shape,
            data: &t.data,
        };
        views.push((name.clone(), view));
    }
    let metadata = Some(
        [("format".to_string(), "pt".to_string())]
            .into_iter()
            .collect(),
    );
    crate::atomic::write_atomic_with(path, |tmp| {
        safetensors::serialize_to_file(views, metadata, tmp).map_err(std::io::Error::other)
    })
}
