//! AdamW with PyTorch's semantics (decoupled weight decay, bias-corrected moments) and clipping by
//! the *global* gradient norm as `torch.nn.utils.clip_grad_norm_` does (burn's
//! `GradientClippingConfig::Norm` clips each tensor by its own norm, which is not the same).
//!
//! The moments are keyed by the parameter's position in the module's traversal, not by its
//! `ParamId`, so they survive a checkpoint: a model rebuilt from saved weights gets new ids but
//! the same order.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use srlm_model::burn;
use srlm_model::fused::{adamw_update, AdamWStep};
use srlm_model::{read_f32, write_safetensors_lazily, HostTensor, LazyTensor, WeightMap};

use crate::error::{Result, TrainError};

/// AdamW's hyper-parameters (PyTorch's defaults, weight decay TRL's 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// AdamW's state: the step count and both moments of every parameter, flattened.
#[derive(Debug, Clone)]
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    moments: Vec<Option<(Tensor<1>, Tensor<1>)>>,
}

impl AdamW {
    /// A fresh optimizer.
    pub fn new(config: AdamWConfig) -> Self {
        AdamW {
            config,
            step: 0,
            moments: Vec::new(),
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of `module` with `grads` (already clipped) at learning rate `lr`.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, grads: &GradientsParams) -> M {
        self.step += 1;
        let mut mapper = AdamWMapper {
            optim: self,
            grads,
            lr,
            index: 0,
        };
        module.map(&mut mapper)
    }

    /// The state as host tensors (`m.{i}`, `v.{i}`) for a checkpoint.
    pub fn to_weights(&self) -> Result<(u64, WeightMap)> {
        let mut map = WeightMap::new("<optimizer>");
        for (i, moments) in self.moments.iter().enumerate() {
            if let Some((m, v)) = moments {
                map.insert(format!("m.{i}"), host(m.clone())?);
                map.insert(format!("v.{i}"), host(v.clone())?);
            }
        }
        Ok((self.step, map))
    }

    /// Writes the state as [`AdamW::to_weights`] names it to the safetensors file `path`, one
    /// moment copied to the host at a time (the whole state at once is twice the model's size).
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        let mut tensors = Vec::new();
        for (i, moments) in self.moments.iter().enumerate() {
            if let Some((m, v)) = moments {
                for (kind, t) in [("m", m), ("v", v)] {
                    tensors.push(LazyTensor {
                        name: format!("{kind}.{i}"),
                        shape: t.dims().to_vec(),
                        read: Box::new(move || read_f32(t.clone(), "optimizer state")),
                    });
                }
            }
        }
        Ok(write_safetensors_lazily(path, &tensors)?)
    }

    /// Restores a state saved by [`AdamW::to_weights`] or [`AdamW::write`] onto `device`.
    pub fn from_weights(
        config: AdamWConfig,
        step: u64,
        map: &WeightMap,
        device: &burn::tensor::Device,
    ) -> Result<Self> {
        let mut moments = Vec::new();
        for (name, tensor) in &map.tensors {
            let (kind, index) = name.split_once('.').unwrap_or((name, ""));
            let index: usize = index.parse().map_err(|_| TrainError::Checkpoint {
                path: map.source.clone().into(),
                reason: format!("unexpected optimizer tensor {name:?}"),
            })?;
            if moments.len() <= index {
                moments.resize(index + 1, None);
            }
            let value = Tensor::<1>::from_data(
                TensorData::new(tensor.data.clone(), [tensor.data.len()]),
                device,
            );
            let slot: &mut Option<(Tensor<1>, Tensor<1>)> = &mut moments[index];
            match (kind, slot.take()) {
                ("m", None) => *slot = Some((value, Tensor::zeros([0], device))),
                ("m", Some((_, v))) => *slot = Some((value, v)),
                ("v", None) => *slot = Some((Tensor::zeros([0], device), value)),
                ("v", Some((m, _))) => *slot = Some((m, value)),
                _ => {
                    return Err(TrainError::Checkpoint {
                        path: map.source.clone().into(),
                        reason: format!("unexpected optimizer tensor {name:?}"),
                    })
                }
            }
        }
        Ok(AdamW {
            config,
            step,
            moments,
        })
    }
}

fn host(t: Tensor<1>) -> Result<HostTensor> {
    let n = t.dims()[0];
    Ok(HostTensor::new(vec![n], read_f32(t, "optimizer state")?)?)
}

struct AdamWMapper<'a> {
    optim: &'a mut AdamW,
    grads: &'a GradientsParams,
    lr: f64,
    index: usize,
}

impl ModuleMapper for AdamWMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let index = self.index;
        self.index += 1;
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.get::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let dims = tensor.dims();
        let n: usize = dims.iter().product();
        let value = tensor.inner().reshape([n]);
        let grad = grad.reshape([n]);
        let c = self.optim.config;
        let t = self.optim.step as i32;
        if self.optim.moments.len() <= index {
            self.optim.moments.resize(index + 1, None);
        }
        let (m, v) = match self.optim.moments[index].take() {
            Some((m, v)) if m.dims()[0] == n && v.dims()[0] == n => (m, v),
            _ => (
                Tensor::zeros([n], &value.device()),
                Tensor::zeros([n], &value.device()),
            ),
        };
        let step = AdamWStep {
            lr: self.lr,
            beta1: c.beta1,
            beta2: c.beta2,
            eps: c.eps,
            weight_decay: c.weight_decay,
            bias_correction1: 1.0 - c.beta1.powi(t),
            bias_correction2: 1.0 - c.beta2.powi(t),
        };
        // PyTorch: p ← p(1 − lr·wd); p ← p − lr/bias1 · m / (√v / √bias2 + ε).
        let (updated, m, v) = adamw_update(value, grad, m, v, &step);
        self.optim.moments[index] = Some((m, v));
        let mut tensor = Tensor::from_inner(updated.reshape(dims));
        if require_grad {
            tensor = tensor.require_grad();
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// The global L2 norm of all gradients of `module`.
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> Result<f64> {
    struct Norm<'a> {
        grads: &'a GradientsParams,
        sum: Option<Tensor<1>>,
    }
    impl ModuleVisitor for Norm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s = g.powi_scalar(2).sum();
                self.sum = Some(match self.sum.take() {
                    Some(acc) => acc + s,
                    None => s,
                });
            }
        }
    }
    let mut visitor = Norm { grads, sum: None };
    module.visit(&mut visitor);
    let Some(sum) = visitor.sum else {
        return Ok(0.0);
    };
    let value = read_f32(sum, "the gradient norm")?;
    Ok(f64::from(value.first().copied().unwrap_or(0.0)).sqrt())
}

/// Scales every gradient by `scale` (for clipping).
pub fn scale_grads<M: Module>(module: &M, grads: GradientsParams, scale: f64) -> GradientsParams {
    struct Scale {
        grads: GradientsParams,
        scale: f32,
    }
    impl ModuleVisitor for Scale {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                self.grads.register(param.id, g.mul_scalar(self.scale));
            }
        }
    }
    let mut visitor = Scale {
        grads,
        scale: scale as f32,
    };
    module.visit(&mut visitor);
    visitor.grads
}

/// torch's `clip_grad_norm_` coefficient: `min(1, max_norm / (norm + 1e-6))`.
pub fn clip_coefficient(norm: f64, max_norm: f64) -> f64 {
    (max_norm / (norm + 1e-6)).min(1.0)
}
