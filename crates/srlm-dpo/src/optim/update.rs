//! The AdamW update itself, over gathered gradients: per tensor (each parameter updated in place
//! by the fused update) or per bucket (its members' values concatenated, updated at once, each
//! parameter then a view of the result).

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use srlm_model::burn;
use srlm_model::fused::{adamw_update, AdamWStep};

use super::grads::{concat, Gathered, GatheredGrads};
use super::moments::Moments;

/// `module` after one AdamW `step` with `grads`, its moments in `moments`.
pub(super) fn apply<M: Module>(
    module: M,
    grads: GatheredGrads,
    moments: &mut Moments,
    step: &AdamWStep,
) -> M {
    match grads.layout {
        Gathered::PerTensor(grads) => module.map(&mut PerTensor {
            moments,
            grads,
            step,
            index: 0,
        }),
        Gathered::Buckets(buckets) => {
            // Each bucket's members' values, concatenated and updated with the bucket's
            // gradient and moments; every member then takes its slice.
            let mut wanted = HashMap::new();
            for (b, bucket) in buckets.iter().enumerate() {
                for member in &bucket.members {
                    wanted.insert(member.id, b);
                }
            }
            let mut values = Values {
                wanted,
                values: vec![Vec::new(); buckets.len()],
            };
            module.visit(&mut values);
            let mut updated = HashMap::new();
            for (bucket, values) in buckets.into_iter().zip(values.values) {
                let key = bucket.key();
                let (m, v) = moments.take_bucket(&key, &bucket.grad.device());
                let (value, m, v) = adamw_update(concat(values), bucket.grad, m, v, step);
                moments.put_bucket(key, (m, v));
                let mut start = 0;
                for member in bucket.members {
                    let range = start..start + member.len;
                    updated.insert(member.id, value.clone().slice(range));
                    start += member.len;
                }
            }
            module.map(&mut Replace { updated })
        }
    }
}

/// Each bucket member's value, flattened, in traversal order.
struct Values {
    wanted: HashMap<ParamId, usize>,
    values: Vec<Vec<Tensor<1>>>,
}

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(&bucket) = self.wanted.get(&param.id) {
            let value = param.val().inner();
            let len: usize = value.dims().iter().product();
            self.values[bucket].push(value.reshape([len]));
        }
    }
}

/// Every updated parameter replaced by its new value (its slice of the bucket's).
struct Replace {
    updated: HashMap<ParamId, Tensor<1>>,
}

impl ModuleMapper for Replace {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        match self.updated.remove(&id) {
            Some(value) => Param::from_mapped_value(id, trainable(value, &tensor), mapper),
            None => Param::from_mapped_value(id, tensor, mapper),
        }
    }
}

/// `value` in the shape of `old`, tracked again when `old` was.
fn trainable<const D: usize>(value: Tensor<1>, old: &Tensor<D>) -> Tensor<D> {
    shaped(value, old.dims(), old.is_require_grad())
}

fn shaped<const D: usize>(value: Tensor<1>, dims: [usize; D], require_grad: bool) -> Tensor<D> {
    let tensor = Tensor::from_inner(value.reshape(dims));
    if require_grad {
        tensor.require_grad()
    } else {
        tensor
    }
}

/// The update per tensor: each parameter's fused update in place, its moments by index.
struct PerTensor<'a> {
    moments: &'a mut Moments,
    grads: GradientsParams,
    step: &'a AdamWStep,
    index: usize,
}

impl ModuleMapper for PerTensor<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let index = self.index;
        self.index += 1;
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let (dims, require_grad) = (tensor.dims(), tensor.is_require_grad());
        let n: usize = dims.iter().product();
        // Owned by the update alone, so the fused update runs in place.
        let value = tensor.inner().reshape([n]);
        let (m, v) = self.moments.take_tensor(index, n, &value.device());
        // PyTorch: p ← p(1 − lr·wd); p ← p − lr/bias1 · m / (√v / √bias2 + ε).
        let (updated, m, v) = adamw_update(value, grad.reshape([n]), m, v, self.step);
        self.moments.put_tensor(index, (m, v));
        Param::from_mapped_value(id, shaped(updated, dims, require_grad), mapper)
    }
}
