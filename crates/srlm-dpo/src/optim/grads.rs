//! The gradients of a module's trainable parameters as the update reads them: per tensor, or
//! concatenated into flat buckets (one operation per bucket instead of one per tensor). Their
//! global L2 norm and scaling, for clipping as torch's `clip_grad_norm_` does.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{DType, Tensor};
use srlm_model::burn;
use srlm_model::read_f32;

use super::config::{UpdateLayout, BUCKET_ELEMENTS};
use crate::error::Result;

/// A module's gradients, laid out for one AdamW update ([`GatheredGrads::gather`]).
#[derive(Debug)]
pub struct GatheredGrads {
    pub(super) layout: Gathered,
}

#[derive(Debug)]
pub(super) enum Gathered {
    PerTensor(GradientsParams),
    Buckets(Vec<GradBucket>),
}

/// Consecutive trainable parameters (in the module's traversal order) and their gradients
/// concatenated, flattened.
#[derive(Debug)]
pub(super) struct GradBucket {
    pub(super) members: Vec<Member>,
    pub(super) grad: Tensor<1>,
}

/// One parameter of a bucket: its place in the traversal (the optimizer's key for its
/// moments), its id and its number of values.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) index: usize,
    pub(super) id: ParamId,
    pub(super) len: usize,
}

impl GradBucket {
    /// The bucket's key for its moments: each member's index and size.
    pub(super) fn key(&self) -> Vec<(usize, usize)> {
        self.members.iter().map(|m| (m.index, m.len)).collect()
    }
}

impl GatheredGrads {
    /// Lays out `grads` (of `module`'s parameters) as `layout` says: per tensor, or flat
    /// buckets of consecutive f32 parameters. A module with any trainable parameter that is
    /// not f32 stays per tensor.
    pub fn gather<M: Module>(module: &M, grads: GradientsParams, layout: UpdateLayout) -> Self {
        if layout == UpdateLayout::PerTensor || !all_f32(module, &grads) {
            return GatheredGrads {
                layout: Gathered::PerTensor(grads),
            };
        }
        let mut collect = Collect {
            grads,
            index: 0,
            taken: Vec::new(),
        };
        module.visit(&mut collect);
        GatheredGrads {
            layout: Gathered::Buckets(into_buckets(collect.taken)),
        }
    }

    /// The global L2 norm of all gradients (read back to the host).
    pub fn global_norm<M: Module>(&self, module: &M) -> Result<f64> {
        let sum = match &self.layout {
            Gathered::PerTensor(grads) => squared_sum(module, grads),
            Gathered::Buckets(buckets) => buckets
                .iter()
                .map(|b| b.grad.clone().powi_scalar(2).sum())
                .reduce(|a, b| a + b),
        };
        norm_of(sum)
    }

    /// Every gradient multiplied by `scale` (for clipping).
    pub fn scaled<M: Module>(self, module: &M, scale: f64) -> Self {
        let layout = match self.layout {
            Gathered::PerTensor(grads) => Gathered::PerTensor(scale_grads(module, grads, scale)),
            Gathered::Buckets(buckets) => Gathered::Buckets(
                buckets
                    .into_iter()
                    .map(|b| GradBucket {
                        grad: b.grad.mul_scalar(scale as f32),
                        members: b.members,
                    })
                    .collect(),
            ),
        };
        GatheredGrads { layout }
    }
}

/// Whether every trainable parameter and its gradient are f32.
fn all_f32<M: Module>(module: &M, grads: &GradientsParams) -> bool {
    struct Survey<'a> {
        grads: &'a GradientsParams,
        all_f32: bool,
    }
    impl ModuleVisitor for Survey<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                self.all_f32 &= grad.dtype() == DType::F32 && param.val().dtype() == DType::F32;
            }
        }
    }
    let mut survey = Survey {
        grads,
        all_f32: true,
    };
    module.visit(&mut survey);
    survey.all_f32
}

/// Takes each trainable parameter's gradient out, flattened, in traversal order.
struct Collect {
    grads: GradientsParams,
    index: usize,
    taken: Vec<(Member, Tensor<1>)>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let index = self.index;
        self.index += 1;
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let len = grad.dims().iter().product();
        let member = Member {
            index,
            id: param.id,
            len,
        };
        self.taken.push((member, grad.reshape([len])));
    }
}

/// Consecutive gradients grouped up to [`BUCKET_ELEMENTS`] values each (a larger one alone),
/// each group concatenated.
fn into_buckets(taken: Vec<(Member, Tensor<1>)>) -> Vec<GradBucket> {
    let mut groups: Vec<(Vec<Member>, Vec<Tensor<1>>, usize)> = Vec::new();
    for (member, grad) in taken {
        match groups.last_mut() {
            Some((members, grads, size)) if *size + member.len <= BUCKET_ELEMENTS => {
                *size += member.len;
                members.push(member);
                grads.push(grad);
            }
            _ => {
                let len = member.len;
                groups.push((vec![member], vec![grad], len));
            }
        }
    }
    groups
        .into_iter()
        .map(|(members, grads, _)| GradBucket {
            members,
            grad: concat(grads),
        })
        .collect()
}

/// One tensor's values as they are; several concatenated.
pub(super) fn concat(mut tensors: Vec<Tensor<1>>) -> Tensor<1> {
    if tensors.len() == 1 {
        if let Some(t) = tensors.pop() {
            return t;
        }
    }
    Tensor::cat(tensors, 0)
}

/// The sum of every gradient's squares, per tensor (`None` without gradients).
fn squared_sum<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
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
    visitor.sum
}

/// The global L2 norm of all gradients of `module`.
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> Result<f64> {
    norm_of(squared_sum(module, grads))
}

/// The square root of a sum of squares, read back to the host (0 without gradients).
fn norm_of(sum: Option<Tensor<1>>) -> Result<f64> {
    let Some(sum) = sum else {
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
