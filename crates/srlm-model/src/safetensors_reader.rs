//! A Hugging Face folder's safetensors files, read one tensor at a time ([`TensorReader`]): the
//! headers are parsed once, and each tensor's bytes are read from its file (not through the
//! map: mapped pages count in the process's resident memory) and converted to `f32` only when
//! the model asks for it.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;

use safetensors::tensor::{Metadata, TensorView};
use safetensors::SafeTensors;

use crate::error::{ModelError, Result};
use crate::hf::{map_file, read_range, st_err, to_f32};
use crate::weights::{HostTensor, TensorReader};

/// One safetensors file: its header, and where its data starts.
struct SafetensorsFile {
    path: PathBuf,
    file: File,
    metadata: Metadata,
    data_start: u64,
}

/// The tensors of one or more safetensors files (a model and its shards), by name.
pub(crate) struct SafetensorsReader {
    files: Vec<SafetensorsFile>,
    /// Each tensor's file (an index into `files`); a name in two shards is the later one's.
    by_name: BTreeMap<String, usize>,
    source: String,
}

impl SafetensorsReader {
    /// Opens `files` and reads their headers; `source` names them in errors.
    pub(crate) fn open(files: &[PathBuf], source: String) -> Result<Self> {
        let mut opened = Vec::with_capacity(files.len());
        let mut by_name = BTreeMap::new();
        for (index, path) in files.iter().enumerate() {
            let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
            // The header through a map (only its pages are touched), checked against the
            // file's length as safetensors checks a whole file.
            let map = map_file(path)?;
            let (header_len, metadata) =
                SafeTensors::read_metadata(&map).map_err(|e| st_err(path, e.to_string()))?;
            let data_start = 8 + header_len as u64;
            for name in metadata.tensors().into_keys() {
                by_name.insert(name, index);
            }
            opened.push(SafetensorsFile {
                path: path.clone(),
                file,
                metadata,
                data_start,
            });
        }
        Ok(SafetensorsReader {
            files: opened,
            by_name,
            source,
        })
    }
}

impl TensorReader for SafetensorsReader {
    fn source(&self) -> &str {
        &self.source
    }

    fn read(&self, name: &str) -> Result<Option<HostTensor>> {
        let Some(&index) = self.by_name.get(name) else {
            return Ok(None);
        };
        let file = &self.files[index];
        let path = &file.path;
        let info = file
            .metadata
            .info(name)
            .ok_or_else(|| st_err(path, format!("tensor `{name}` is not in the header")))?;
        let (start, end) = info.data_offsets;
        let bytes = read_range(&file.file, file.data_start + start as u64, end - start)
            .map_err(|e| st_err(path, format!("reading tensor `{name}`: {e}")))?;
        let view = TensorView::new(info.dtype, info.shape.clone(), &bytes)
            .map_err(|e| st_err(path, format!("tensor `{name}`: {e}")))?;
        let data = to_f32(&view, name, path)?;
        HostTensor::new(info.shape.clone(), data).map(Some)
    }
}
