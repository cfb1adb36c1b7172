//! [`KvCache`]: keys and values of past positions, per layer, for incremental decoding.

use burn::tensor::Tensor;

/// The keys and values of one layer, `[batch, kv_heads, capacity, head_dim]`, of which the first
/// `filled` positions are written; the rest is zeros, room reserved for decoding.
#[derive(Debug, Clone)]
pub(crate) struct LayerCache {
    pub(crate) keys: Tensor<4>,
    pub(crate) values: Tensor<4>,
    pub(crate) filled: usize,
}

impl LayerCache {
    fn capacity(&self) -> usize {
        self.keys.dims()[2]
    }
}

/// Keys and values of every layer for the positions decoded so far, for a whole batch.
///
/// Created empty with [`KvCache::new`], filled by the model's forward pass. All sequences of
/// the batch share one cache length: shorter prompts are left-padded and their padding is
/// masked out by the attention bias.
///
/// By default each step's keys and values are concatenated to the past ones (a copy of the
/// whole cache per step and layer). After [`KvCache::reserve`], steps are written in place into
/// the reserved room and attention reads the whole buffer, [`KvCache::capacity`] positions wide:
/// the caller's attention bias must then be that wide, masking the unwritten positions
/// ([`Llama::step_inputs_with_room`](crate::Llama::step_inputs_with_room)).
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
        self.first().map(|l| l.filled).unwrap_or(0)
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Positions the buffers hold, written or reserved ([`KvCache::len`] until
    /// [`KvCache::reserve`] adds room).
    pub fn capacity(&self) -> usize {
        self.first().map(LayerCache::capacity).unwrap_or(0)
    }

    /// Reserved positions not yet written.
    pub fn room(&self) -> usize {
        self.capacity() - self.len()
    }

    fn first(&self) -> Option<&LayerCache> {
        self.layers.first().and_then(|l| l.as_ref())
    }

    /// Makes room for `extra` more positions after the written ones (one copy of the cache),
    /// so the next steps are written in place. Does nothing to an empty cache.
    pub fn reserve(&mut self, extra: usize) {
        for layer in self.layers.iter_mut().flatten() {
            let [b, h, _, d] = layer.keys.dims();
            let device = layer.keys.device();
            let filled = layer.filled;
            let grow = |buffer: Tensor<4>| {
                Tensor::cat(
                    vec![
                        buffer.slice([0..b, 0..h, 0..filled, 0..d]),
                        Tensor::zeros([b, h, extra, d], &device),
                    ],
                    2,
                )
            };
            layer.keys = grow(layer.keys.clone());
            layer.values = grow(layer.values.clone());
        }
    }

    /// Appends this step's keys and values to layer `index` and returns the layer's buffers:
    /// written in place when the reserved room holds them (then the buffers are
    /// [`KvCache::capacity`] wide, unwritten positions zero), otherwise concatenated (then
    /// exactly the written positions).
    pub(crate) fn append(
        &mut self,
        index: usize,
        keys: Tensor<4>,
        values: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let slot = &mut self.layers[index];
        let [b, h, t, d] = keys.dims();
        let layer = match slot.take() {
            Some(past) if past.capacity() - past.filled >= t => {
                let at = past.filled..past.filled + t;
                // The cache holds the only reference (the previous step's copies are
                // dropped), so burn-flex writes into the buffer without copying it.
                LayerCache {
                    keys: past.keys.slice_assign([0..b, 0..h, at.clone(), 0..d], keys),
                    values: past.values.slice_assign([0..b, 0..h, at, 0..d], values),
                    filled: past.filled + t,
                }
            }
            Some(past) => {
                let filled = past.filled;
                let written = |buffer: Tensor<4>| buffer.slice([0..b, 0..h, 0..filled, 0..d]);
                LayerCache {
                    keys: Tensor::cat(vec![written(past.keys), keys], 2),
                    values: Tensor::cat(vec![written(past.values), values], 2),
                    filled: filled + t,
                }
            }
            None => LayerCache {
                keys,
                values,
                filled: t,
            },
        };
        let out = (layer.keys.clone(), layer.values.clone());
        *slot = Some(layer);
        out
    }

    /// Puts `extra` positions before the cached ones (zeros, for the caller to mask as not real
    /// tokens): one copy of the cache. Does nothing to an empty cache.
    pub fn pad_left(&mut self, extra: usize) {
        if extra == 0 {
            return;
        }
        for layer in self.layers.iter_mut().flatten() {
            let [b, h, _, d] = layer.keys.dims();
            let device = layer.keys.device();
            let pad = |buffer: Tensor<4>| {
                Tensor::cat(vec![Tensor::zeros([b, h, extra, d], &device), buffer], 2)
            };
            layer.keys = pad(layer.keys.clone());
            layer.values = pad(layer.values.clone());
            layer.filled += extra;
        }
    }

    /// Drops the first `count` cached positions of every row (at most [`KvCache::len`]), keeping
    /// at least one position of room: one copy of the cache into fresh buffers (a sliced view
    /// would make every later in-place write copy the whole buffer).
    pub fn drop_left(&mut self, count: usize) {
        for layer in self.layers.iter_mut().flatten() {
            let [b, h, capacity, d] = layer.keys.dims();
            let count = count.min(layer.filled);
            let room = (capacity - layer.filled).max(1);
            let device = layer.keys.device();
            let keep = |buffer: Tensor<4>| {
                Tensor::cat(
                    vec![
                        buffer.slice([0..b, 0..h, count..layer.filled, 0..d]),
                        Tensor::zeros([b, h, room, d], &device),
                    ],
                    2,
                )
            };
            layer.keys = keep(layer.keys.clone());
            layer.values = keep(layer.values.clone());
            layer.filled -= count;
        }
    }

    /// Appends the rows of `other` after this cache's rows. Both must hold the same number of
    /// positions ([`KvCache::len`]; see [`KvCache::pad_left`]); the one with less room gets more,
    /// so both keep the larger capacity. An empty cache takes `other` as it is.
    pub fn append_rows(&mut self, mut other: KvCache) {
        if self.is_empty() {
            *self = other;
            return;
        }
        debug_assert_eq!(self.len(), other.len(), "caches of different lengths");
        let (ours, theirs) = (self.capacity(), other.capacity());
        if ours < theirs {
            self.reserve(theirs - self.len());
        } else if theirs < ours {
            other.reserve(ours - other.len());
        }
        for (mine, other) in self.layers.iter_mut().zip(other.layers) {
            if let (Some(mine), Some(other)) = (mine.as_mut(), other) {
                mine.keys = Tensor::cat(vec![mine.keys.clone(), other.keys], 0);
                mine.values = Tensor::cat(vec![mine.values.clone(), other.values], 0);
            }
        }
    }

    /// Keeps the batch rows in `rows`, in that order (to drop finished sequences from a batch;
    /// a repeated row is copied, to start several samples from one prefill).
    pub fn retain_rows(&mut self, rows: &[usize], device: &burn::tensor::Device) {
        let index = row_index(rows, device);
        for layer in self.layers.iter_mut().flatten() {
            layer.keys = layer.keys.clone().select(0, index.clone());
            layer.values = layer.values.clone().select(0, index.clone());
        }
    }
}

/// `rows` as an index tensor for `select` along the batch dimension.
pub(crate) fn row_index(
    rows: &[usize],
    device: &burn::tensor::Device,
) -> Tensor<1, burn::tensor::Int> {
    Tensor::from_data(
        burn::tensor::TensorData::new(
            rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
            [rows.len()],
        ),
        device,
    )
}
