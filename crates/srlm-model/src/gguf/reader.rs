//! Parsing the GGUF container: header, metadata and tensor directory, with every read
//! bounds-checked so a truncated or corrupt file is an error naming the byte offset.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{ModelError, Result};

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    /// Any unsigned integer type.
    UInt(u64),
    /// Any signed integer type.
    Int(i64),
    /// `f32` or `f64`.
    Float(f64),
    /// `bool`.
    Bool(bool),
    /// UTF-8 string (lossily decoded).
    String(String),
    /// An array.
    Array(Vec<GgufValue>),
}

impl GgufValue {
    /// As an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::UInt(v) => Some(v),
            GgufValue::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    /// As a float, if numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            GgufValue::Float(v) => Some(v),
            GgufValue::UInt(v) => Some(v as f64),
            GgufValue::Int(v) => Some(v as f64),
            _ => None,
        }
    }
    /// As a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }
    /// As a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            GgufValue::Bool(b) => Some(b),
            _ => None,
        }
    }
    /// As an array.
    pub fn as_array(&self) -> Option<&[GgufValue]> {
        match self {
            GgufValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// One entry of the tensor directory.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufTensorInfo {
    /// Name (llama.cpp naming: `blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions as GGUF lists them: innermost first.
    pub dims: Vec<u64>,
    /// GGML type id.
    pub type_id: u32,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
}

/// The parsed header of a GGUF file; tensor data is read from `bytes` on demand.
#[derive(Debug)]
pub struct GgufHeader {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata key → value.
    pub metadata: BTreeMap<String, GgufValue>,
    /// The tensor directory, in file order.
    pub tensors: Vec<GgufTensorInfo>,
    /// Absolute offset of the data section.
    pub data_offset: usize,
}

pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

const MAX_ARRAY: u64 = 1 << 28;

impl<'a> Cursor<'a> {
    fn error(&self, reason: String) -> ModelError {
        ModelError::Gguf {
            path: self.path.to_path_buf(),
            reason,
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(slice)
            }
            None => Err(self.error(format!(
                "truncated: reading {what} ({n} bytes) at offset {} but the file has {} bytes",
                self.pos,
                self.bytes.len()
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= self.bytes.len())
            .ok_or_else(|| {
                self.error(format!(
                    "{what}: string length {len} at offset {} is larger than the file",
                    self.pos
                ))
            })?;
        Ok(String::from_utf8_lossy(self.take(len, what)?).into_owned())
    }

    fn value(&mut self, type_id: u32, key: &str, depth: usize) -> Result<GgufValue> {
        Ok(match type_id {
            0 => GgufValue::UInt(u64::from(self.array::<1>(key)?[0])),
            1 => GgufValue::Int(i64::from(i8::from_le_bytes(self.array(key)?))),
            2 => GgufValue::UInt(u64::from(u16::from_le_bytes(self.array(key)?))),
            3 => GgufValue::Int(i64::from(i16::from_le_bytes(self.array(key)?))),
            4 => GgufValue::UInt(u64::from(self.u32(key)?)),
            5 => GgufValue::Int(i64::from(i32::from_le_bytes(self.array(key)?))),
            6 => GgufValue::Float(f64::from(f32::from_le_bytes(self.array(key)?))),
            7 => GgufValue::Bool(self.array::<1>(key)?[0] != 0),
            8 => GgufValue::String(self.string(key)?),
            9 if depth == 0 => {
                let item_type = self.u32(key)?;
                let n = self.u64(key)?;
                if n > MAX_ARRAY {
                    return Err(self.error(format!(
                        "metadata `{key}`: array of {n} items is implausibly large"
                    )));
                }
                // Reserved for what the rest of the file can hold (an item takes a byte at
                // least), not for what the count claims.
                let remaining = self.bytes.len().saturating_sub(self.pos);
                let mut items = Vec::with_capacity((n as usize).min(remaining));
                for _ in 0..n {
                    items.push(self.value(item_type, key, depth + 1)?);
                }
                GgufValue::Array(items)
            }
            10 => GgufValue::UInt(self.u64(key)?),
            11 => GgufValue::Int(i64::from_le_bytes(self.array(key)?)),
            12 => GgufValue::Float(f64::from_le_bytes(self.array(key)?)),
            other => {
                return Err(self.error(format!(
                    "metadata `{key}` has unknown value type {other} at offset {}",
                    self.pos
                )))
            }
        })
    }
}

/// Parses the header of a GGUF file held in `bytes`.
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<GgufHeader> {
    let mut c = Cursor {
        bytes,
        pos: 0,
        path,
    };
    let magic = c.array::<4>("magic")?;
    if &magic != b"GGUF" {
        return Err(c.error(format!("bad magic {magic:?} (expected \"GGUF\")")));
    }
    let version = c.u32("version")?;
    if !(2..=3).contains(&version) {
        return Err(c.error(format!(
            "unsupported GGUF version {version} (supported: 2, 3)"
        )));
    }
    let tensor_count = c.u64("tensor count")?;
    let kv_count = c.u64("metadata count")?;
    if tensor_count > MAX_ARRAY || kv_count > MAX_ARRAY {
        return Err(c.error(format!(
            "implausible counts: {tensor_count} tensors, {kv_count} metadata entries"
        )));
    }
    let mut metadata = BTreeMap::new();
    for _ in 0..kv_count {
        let key = c.string("metadata key")?;
        let type_id = c.u32(&key)?;
        let value = c.value(type_id, &key, 0)?;
        metadata.insert(key, value);
    }
    // An entry takes 8 (name length) + 4 + 8 + 4 + 8 bytes at least.
    let room = bytes.len().saturating_sub(c.pos) / 32;
    let mut tensors = Vec::with_capacity((tensor_count as usize).min(room));
    for _ in 0..tensor_count {
        let name = c.string("tensor name")?;
        let n_dims = c.u32(&name)?;
        if n_dims == 0 || n_dims > 4 {
            return Err(c.error(format!(
                "tensor `{name}` has {n_dims} dimensions (expected 1 to 4)"
            )));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64(&name)?);
        }
        let type_id = c.u32(&name)?;
        let offset = c.u64(&name)?;
        tensors.push(GgufTensorInfo {
            name,
            dims,
            type_id,
            offset,
        });
    }
    let alignment = metadata
        .get("general.alignment")
        .and_then(GgufValue::as_u64)
        .unwrap_or(32) as usize;
    if alignment == 0 || !alignment.is_power_of_two() {
        return Err(c.error(format!(
            "general.alignment {alignment} is not a power of two"
        )));
    }
    let data_offset = c
        .pos
        .div_ceil(alignment)
        .checked_mul(alignment)
        .ok_or_else(|| {
            c.error(format!(
                "general.alignment {alignment} is implausibly large"
            ))
        })?;
    Ok(GgufHeader {
        version,
        metadata,
        tensors,
        data_offset,
    })
}
