//! [`KvCache`]: keys and values of past positions, per layer, for incremental decoding.

use burn::tensor::Tensor;

/// The keys and values of one layer, `[batch, kv_heads, past, head_dim]`.
#[derive(Debug, Clone)]
pub(crate) struct LayerCache {
    pub(crate) keys: Tensor<4>,
    pub(crate) values: Tensor<4>,
}

/// Keys and values of every layer for the positions decoded so far, for a whole batch.
///
/// Created empty with [`KvCache::new`], filled by the model's forward pass. All sequences of
/// the batch share one cache length: shorter prompts are left-padded and their padding is
/// masked out by the attention bias.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    pub(crate) layers: Vec<Option<LayerCache>>,
}

impl KvCache {
    /// An empty cache for a model of `num_layers` layers.
    pub fn new(num_layers: usize) -> Self {
        KvCache {
            layers: vec![None; num_layers],
        }
    }

    /// Positions held (0 when empty).
    pub fn len(&self) -> usize {
        self.layers
            .first()
            .and_then(|l| l.as_ref())
            .map(|l| l.keys.dims()[2])
            .unwrap_or(0)
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends this step's keys and values to layer `index` and returns all of them.
    pub(crate) fn append(
        &mut self,
        index: usize,
        keys: Tensor<4>,
        values: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let slot = &mut self.layers[index];
        let (keys, values) = match slot.take() {
            Some(past) => (
                Tensor::cat(vec![past.keys, keys], 2),
                Tensor::cat(vec![past.values, values], 2),
            ),
            None => (keys, values),
        };
        *slot = Some(LayerCache {
            keys: keys.clone(),
            values: values.clone(),
        });
        (keys, values)
    }

    /// Keeps the batch rows in `rows`, in that order (to drop finished sequences from a batch;
    /// a repeated row is copied, to start several samples from one prefill).
    pub fn retain_rows(&mut self, rows: &[usize], device: &burn::tensor::Device) {
        let index = Tensor::<1, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(
                rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
                [rows.len()],
            ),
            device,
        );
        for layer in self.layers.iter_mut().flatten() {
            layer.keys = layer.keys.clone().select(0, index.clone());
            layer.values = layer.values.clone().select(0, index.clone());
        }
    }
}
