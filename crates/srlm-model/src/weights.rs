//! Host-side weights: named `f32` tensors in Hugging Face naming and layout, the meeting point
//! of every file format (GGUF, safetensors) and the burn model.

use std::collections::BTreeMap;

use crate::error::{ModelError, Result};

/// A tensor in host memory, row-major, `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first (PyTorch order).
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl HostTensor {
    /// A tensor; fails if `data` does not fill `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(ModelError::InvalidInput(format!(
                "tensor of shape {shape:?} needs {n} values, got {}",
                data.len()
            )));
        }
        Ok(HostTensor { shape, data })
    }

    /// A 2-D tensor (a vector as one row) on `device`.
    pub(crate) fn to_matrix(&self, device: &burn::tensor::Device) -> burn::tensor::Tensor<2> {
        let (rows, cols) = match self.shape[..] {
            [n] => (1, n),
            _ => (self.shape[0], self.shape[1]),
        };
        burn::tensor::Tensor::from_data(
            burn::tensor::TensorData::new(self.data.clone(), [rows, cols]),
            device,
        )
    }

    /// The transpose of a 2-D tensor.
    pub fn transposed(&self) -> HostTensor {
        let (rows, cols) = (self.shape[0], self.shape[1]);
        let mut data = vec![0.0; rows * cols];
        // 32×32 tiles keep both the reads and the writes in cache.
        const TILE: usize = 32;
        for r0 in (0..rows).step_by(TILE) {
            for c0 in (0..cols).step_by(TILE) {
                for r in r0..(r0 + TILE).min(rows) {
                    for c in c0..(c0 + TILE).min(cols) {
                        data[c * rows + r] = self.data[r * cols + c];
                    }
                }
            }
        }
        HostTensor {
            shape: vec![cols, rows],
            data,
        }
    }
}

/// Named weights in Hugging Face Llama naming (`model.layers.0.self_attn.q_proj.weight`, ...).
#[derive(Debug, Default, Clone)]
pub struct WeightMap {
    /// The tensors by name.
    pub tensors: BTreeMap<String, HostTensor>,
    /// Where they came from (a path), for error messages.
    pub source: String,
}

impl WeightMap {
    /// An empty map tagged with its source.
    pub fn new(source: impl Into<String>) -> Self {
        WeightMap {
            tensors: BTreeMap::new(),
            source: source.into(),
        }
    }

    /// Checks that every value is finite; the error names the first tensor that is not.
    pub fn check_finite(&self) -> Result<()> {
        for (name, tensor) in &self.tensors {
            check_finite(name, tensor, &self.source)?;
        }
        Ok(())
    }

    /// SHA-256 of the weights, lowercase hex: names, shapes and `f32` values in name order (the
    /// source is left out, so the same weights from two files hash the same).
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for (name, tensor) in &self.tensors {
            hasher.update(name.as_bytes());
            for d in &tensor.shape {
                hasher.update((*d as u64).to_le_bytes());
            }
            // The values' little-endian bytes, in one call where memory already holds them so.
            #[cfg(target_endian = "little")]
            hasher.update(bytemuck::cast_slice::<f32, u8>(&tensor.data));
            #[cfg(not(target_endian = "little"))]
            for v in &tensor.data {
                hasher.update(v.to_le_bytes());
            }
        }
        hex(&hasher.finalize())
    }

    /// Adds a tensor.
    pub fn insert(&mut self, name: impl Into<String>, tensor: HostTensor) {
        self.tensors.insert(name.into(), tensor);
    }

    /// Removes and returns `name`, checking its shape.
    pub fn take(&mut self, name: &str, expected: &[usize]) -> Result<HostTensor> {
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| ModelError::MissingTensor {
                tensor: name.to_string(),
                source_desc: self.source.clone(),
            })?;
        check_shape(name, tensor, expected)
    }

    /// Removes `name` if present, checking its shape.
    pub fn take_optional(&mut self, name: &str, expected: &[usize]) -> Result<Option<HostTensor>> {
        if self.tensors.contains_key(name) {
            self.take(name, expected).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Tensors read one at a time, by Hugging Face name and in PyTorch layout, from files that stay
/// on disk: a model loads through one without ever holding all its weights in `f32` on the
/// host.
pub(crate) trait TensorReader {
    /// Where the tensors come from (a path), for error messages.
    fn source(&self) -> &str;
    /// The tensor `name` in `f32`, `None` if the files have no such tensor.
    fn read(&self, name: &str) -> Result<Option<HostTensor>>;

    /// [`TensorReader::read`], checking its shape against `expected` and every value for
    /// finiteness (what [`WeightMap::take`] and [`WeightMap::check_finite`] check of a map).
    fn read_checked(&self, name: &str, expected: &[usize]) -> Result<Option<HostTensor>> {
        let Some(tensor) = self.read(name)? else {
            return Ok(None);
        };
        let tensor = check_shape(name, tensor, expected)?;
        check_finite(name, &tensor, self.source())?;
        Ok(Some(tensor))
    }
}

/// `tensor`, or the error naming it if its shape is not `expected`.
fn check_shape(name: &str, tensor: HostTensor, expected: &[usize]) -> Result<HostTensor> {
    if tensor.shape != expected {
        return Err(ModelError::ShapeMismatch {
            tensor: name.to_string(),
            expected: expected.to_vec(),
            actual: tensor.shape,
        });
    }
    Ok(tensor)
}

/// The error naming `tensor`'s first value that is not finite, if any.
fn check_finite(name: &str, tensor: &HostTensor, source: &str) -> Result<()> {
    match tensor.data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, value)) => Err(ModelError::NonFiniteWeight {
            tensor: name.to_string(),
            index,
            value: *value,
            source_desc: source.to_string(),
        }),
        None => Ok(()),
    }
}

/// Reads a tensor back to the host as `f32`s; `what` names it in the error.
pub fn read_f32<const D: usize>(t: burn::tensor::Tensor<D>, what: &str) -> Result<Vec<f32>> {
    t.try_into_vec_as::<f32>()
        .map_err(|e| ModelError::Backend(format!("reading {what}: {e:?}")))
}

/// Hugging Face names of one layer's tensors.
pub(crate) fn layer_name(layer: usize, suffix: &str) -> String {
    format!("model.layers.{layer}.{suffix}")
}

/// `bytes` as lowercase hex (how the crate writes its SHA-256 digests).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
