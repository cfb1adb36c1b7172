//! AdamW with PyTorch's semantics (decoupled weight decay, bias-corrected moments) and clipping by
//! the *global* gradient norm as `torch.nn.utils.clip_grad_norm_` does (burn's
//! `GradientClippingConfig::Norm` clips each tensor by its own norm, which is not the same).
//!
//! The moments are keyed by the parameter's position in the module's traversal, not by its
//! `ParamId`, so they survive a checkpoint: a model rebuilt from saved weights gets new ids but
//! the same order. The update walks the parameters per tensor or in flat buckets
//! ([`UpdateLayout`]); the moments' layout follows, and either saves the same checkpoint.

mod config;
mod grads;
mod moments;
mod update;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use srlm_model::burn;
use srlm_model::fused::AdamWStep;
use srlm_model::{read_f32, write_safetensors_lazily, HostTensor, LazyTensor, WeightMap};

pub use config::{AdamWConfig, UpdateLayout, BUCKET_ELEMENTS};
pub use grads::{clip_coefficient, global_grad_norm, scale_grads, GatheredGrads};

use crate::error::{Result, TrainError};
use moments::Moments;

/// AdamW's state: the step count and both moments of every parameter, flattened.
#[derive(Debug, Clone)]
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    moments: Moments,
}

impl AdamW {
    /// A fresh optimizer.
    pub fn new(config: AdamWConfig) -> Self {
        AdamW {
            config,
            step: 0,
            moments: Moments::default(),
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The layout of this optimizer's update, for [`GatheredGrads::gather`].
    pub fn layout(&self) -> UpdateLayout {
        self.config.layout
    }

    /// One update of `module` with `grads` (already clipped) at learning rate `lr`.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        let grads = GatheredGrads::gather(&module, grads, self.config.layout);
        self.step_gathered(lr, module, grads)
    }

    /// One update of `module` with gradients already gathered (and clipped: see
    /// [`GatheredGrads::global_norm`], [`GatheredGrads::scaled`]) at learning rate `lr`.
    pub fn step_gathered<M: Module>(&mut self, lr: f64, module: M, grads: GatheredGrads) -> M {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let step = AdamWStep {
            lr,
            beta1: c.beta1,
            beta2: c.beta2,
            eps: c.eps,
            weight_decay: c.weight_decay,
            bias_correction1: 1.0 - c.beta1.powi(t),
            bias_correction2: 1.0 - c.beta2.powi(t),
        };
        update::apply(module, grads, &mut self.moments, &step)
    }

    /// The state as host tensors (`m.{i}`, `v.{i}`) for a checkpoint.
    pub fn to_weights(&self) -> Result<(u64, WeightMap)> {
        let mut map = WeightMap::new("<optimizer>");
        for (i, (m, v)) in self.moments.by_index() {
            map.insert(format!("m.{i}"), host(m)?);
            map.insert(format!("v.{i}"), host(v)?);
        }
        Ok((self.step, map))
    }

    /// Writes the state as [`AdamW::to_weights`] names it to the safetensors file `path`, one
    /// moment copied to the host at a time (the whole state at once is twice the model's size).
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        let mut tensors = Vec::new();
        for (i, (m, v)) in self.moments.by_index() {
            for (kind, t) in [("m", m), ("v", v)] {
                tensors.push(LazyTensor {
                    name: format!("{kind}.{i}"),
                    shape: t.dims().to_vec(),
                    read: Box::new(move || read_f32(t.clone(), "optimizer state")),
                });
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
        let mut pairs: Vec<(Option<Tensor<1>>, Option<Tensor<1>>)> = Vec::new();
        for (name, tensor) in &map.tensors {
            let unexpected = || TrainError::Checkpoint {
                path: map.source.clone().into(),
                reason: format!("unexpected optimizer tensor {name:?}"),
            };
            let (kind, index) = name.split_once('.').ok_or_else(unexpected)?;
            let index: usize = index.parse().map_err(|_| unexpected())?;
            if pairs.len() <= index {
                pairs.resize(index + 1, (None, None));
            }
            let value = Tensor::<1>::from_data(
                TensorData::new(tensor.data.clone(), [tensor.data.len()]),
                device,
            );
            match kind {
                "m" => pairs[index].0 = Some(value),
                "v" => pairs[index].1 = Some(value),
                _ => return Err(unexpected()),
            }
        }
        let mut moments = Moments::default();
        for (index, pair) in pairs.into_iter().enumerate() {
            match pair {
                (Some(m), Some(v)) => moments.put_tensor(index, (m, v)),
                (None, None) => {}
                _ => {
                    return Err(TrainError::Checkpoint {
                        path: map.source.clone().into(),
                        reason: format!("optimizer tensor {index} has one moment, not both"),
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
