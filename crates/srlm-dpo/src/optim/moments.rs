//! AdamW's moments: per parameter tensor, or flat per bucket of the update
//! ([`super::UpdateLayout`]), each keyed by the parameters' places in the module's traversal —
//! so either layout saves the same checkpoint (`m.{index}`, `v.{index}`) and resumes into
//! either.

use burn::tensor::{Device, Tensor};
use srlm_model::burn;

use super::grads::concat;

/// The first and second moments of one flattened tensor or bucket.
pub(super) type Pair = (Tensor<1>, Tensor<1>);

/// Every moment the optimizer holds.
#[derive(Debug, Clone, Default)]
pub(super) struct Moments {
    /// Per parameter, by its index in the traversal.
    tensors: Vec<Option<Pair>>,
    /// Flat per bucket: its members' `(index, size)` and the moments concatenated.
    buckets: Vec<(Vec<(usize, usize)>, Pair)>,
}

impl Moments {
    /// The moments of the parameter at `index` with `len` values (zeros when there are none
    /// of that size yet), taken out until [`Moments::put_tensor`].
    pub(super) fn take_tensor(&mut self, index: usize, len: usize, device: &Device) -> Pair {
        self.unbucket();
        self.take_stored(index, len, device)
    }

    /// The stored moments of the parameter at `index` if they hold `len` values, else zeros.
    fn take_stored(&mut self, index: usize, len: usize, device: &Device) -> Pair {
        match self.tensors.get_mut(index).and_then(Option::take) {
            Some((m, v)) if m.dims()[0] == len && v.dims()[0] == len => (m, v),
            _ => zeros(len, device),
        }
    }

    /// Keeps the moments of the parameter at `index`.
    pub(super) fn put_tensor(&mut self, index: usize, moments: Pair) {
        if self.tensors.len() <= index {
            self.tensors.resize(index + 1, None);
        }
        self.tensors[index] = Some(moments);
    }

    /// The flat moments of the bucket of `key` (members' `(index, size)`), taken out until
    /// [`Moments::put_bucket`]: the bucket's own when it was updated before, else its members'
    /// concatenated (zeros for a member without any).
    pub(super) fn take_bucket(&mut self, key: &[(usize, usize)], device: &Device) -> Pair {
        if let Some(at) = self.buckets.iter().position(|(k, _)| k == key) {
            return self.buckets.swap_remove(at).1;
        }
        // A bucket of another layout holding any of these members: back to per tensor first.
        if self
            .buckets
            .iter()
            .any(|(k, _)| k.iter().any(|(i, _)| key.iter().any(|(j, _)| i == j)))
        {
            self.unbucket();
        }
        let (ms, vs) = key
            .iter()
            .map(|&(index, len)| self.take_stored(index, len, device))
            .unzip();
        (concat(ms), concat(vs))
    }

    /// Keeps the flat moments of the bucket of `key`.
    pub(super) fn put_bucket(&mut self, key: Vec<(usize, usize)>, moments: Pair) {
        self.buckets.push((key, moments));
    }

    /// Every parameter's moments by index (a bucket's as views of its flat moments), in
    /// index order.
    pub(super) fn by_index(&self) -> Vec<(usize, Pair)> {
        let mut all: Vec<(usize, Pair)> = self
            .tensors
            .iter()
            .enumerate()
            .filter_map(|(i, pair)| pair.clone().map(|pair| (i, pair)))
            .collect();
        for (key, (m, v)) in &self.buckets {
            let mut start = 0;
            for &(index, len) in key {
                let range = start..start + len;
                all.push((
                    index,
                    (m.clone().slice(range.clone()), v.clone().slice(range)),
                ));
                start += len;
            }
        }
        all.sort_by_key(|(i, _)| *i);
        all
    }

    /// Every bucket's moments moved back to its members (as views), for an update per tensor.
    fn unbucket(&mut self) {
        if self.buckets.is_empty() {
            return;
        }
        for (index, pair) in self.by_index() {
            self.put_tensor(index, pair);
        }
        self.buckets.clear();
    }
}

fn zeros(len: usize, device: &Device) -> Pair {
    (Tensor::zeros([len], device), Tensor::zeros([len], device))
}
