//! Layer checkpointing, torch.utils.checkpoint's recipe: while [`LayerCheckpoints::record`]
//! runs, a forward pass of a model on an autodiff device runs its decoder layers without a
//! graph, keeping only each layer's input; the final norm, the head and the loss run under
//! autodiff from the last layer's output as a fresh leaf. After the loss's backward,
//! [`Llama::backward_checkpointed`](super::Llama::backward_checkpointed) recomputes one layer
//! at a time under autodiff, from its saved input, and backpropagates the gradient of its
//! output through it — so the activations of one layer, not of all, are alive at once, for one
//! more forward pass.
//!
//! Dropout must be off (it would draw other masks in the recomputation): the trainer refuses
//! checkpointing with dropout.

use std::cell::RefCell;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::Embedding;
use burn::optim::GradientsParams;
use burn::tensor::{FloatDType, Gradients, Int, Tensor};

use super::attention::StepContext;
use super::block::DecoderLayer;
use super::norm::RmsNorm;

/// One checkpointed forward pass.
struct Segment {
    tokens: Tensor<2, Int>,
    ctx: StepContext,
    /// Each layer's input, on the inner (non-autodiff) backend.
    inputs: Vec<Tensor<3>>,
    /// The last layer's output as the leaf the rest of the graph starts from.
    last: Tensor<3>,
}

thread_local! {
    static TAPE: RefCell<Option<Vec<Segment>>> = const { RefCell::new(None) };
}

/// The checkpointed forward passes of one loss ([`LayerCheckpoints::record`]).
pub struct LayerCheckpoints {
    segments: Vec<Segment>,
}

impl LayerCheckpoints {
    /// Runs `f` (a loss's forward pass) with layer checkpointing on this thread: every forward
    /// pass of a model on an autodiff device inside it keeps only its layers' inputs.
    pub fn record<T>(f: impl FnOnce() -> T) -> (T, LayerCheckpoints) {
        TAPE.with(|tape| *tape.borrow_mut() = Some(Vec::new()));
        let out = f();
        let segments = TAPE
            .with(|tape| tape.borrow_mut().take())
            .unwrap_or_default();
        (out, LayerCheckpoints { segments })
    }

    /// The checkpointed passes recorded.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether no pass was recorded.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The layers' (and the embedding's) parameter gradients, given `grads`, the loss's
    /// gradients (the recorded leaves' gradients are taken out of it): each layer recomputed
    /// under autodiff from its saved input, last layer first
    /// ([`Llama::backward_checkpointed`](super::Llama::backward_checkpointed)).
    pub(crate) fn backward(
        self,
        layers: &[DecoderLayer],
        embed: &Embedding,
        compute: FloatDType,
        grads: &mut Gradients,
    ) -> GradientsParams {
        let mut acc = GradientsParams::new();
        for segment in self.segments.into_iter().rev() {
            let Some(mut upstream) = segment.last.grad_remove(grads) else {
                continue;
            };
            for (layer, input) in layers.iter().zip(segment.inputs).rev() {
                let x = Tensor::from_inner(input).require_grad();
                let out = layer.forward(x.clone(), &segment.ctx, None);
                let mut g = (out * Tensor::from_inner(upstream)).sum().backward();
                upstream = match x.grad_remove(&mut g) {
                    Some(dx) => dx,
                    None => return acc,
                };
                acc = add_gradients(layer, acc, GradientsParams::from_grads(g, layer));
            }
            if embed.weight.is_require_grad() {
                let out = embed.forward(segment.tokens).cast(compute);
                let g = (out * Tensor::from_inner(upstream)).sum().backward();
                acc = add_gradients(embed, acc, GradientsParams::from_grads(g, embed));
            }
        }
        acc
    }
}

/// Whether a checkpointed recording is on for this thread.
pub(crate) fn recording() -> bool {
    TAPE.with(|tape| tape.borrow().is_some())
}

/// The checkpointed pass of `Llama::forward_hidden` (no cache): the layers without a graph,
/// the final `norm` from a fresh leaf.
pub(crate) fn forward(
    (embed, layers, norm): (&Embedding, &[DecoderLayer], &RmsNorm),
    tokens: Tensor<2, Int>,
    ctx: StepContext,
    compute: FloatDType,
) -> Tensor<3> {
    let inner = StepContext {
        cos: ctx.cos.clone().inner(),
        sin: ctx.sin.clone().inner(),
        bias: ctx.bias.clone().inner(),
    };
    let mut x = embed.valid().forward(tokens.clone().inner()).cast(compute);
    let mut inputs = Vec::with_capacity(layers.len());
    for layer in layers {
        inputs.push(x.clone());
        x = layer.valid().forward(x, &inner, None);
    }
    let last = Tensor::from_inner(x).require_grad();
    TAPE.with(|tape| {
        if let Some(segments) = tape.borrow_mut().as_mut() {
            segments.push(Segment {
                tokens,
                ctx,
                inputs,
                last: last.clone(),
            });
        }
    });
    norm.forward(last)
}

/// `acc + more` for every parameter of `module` (gradients of the same parameter summed).
pub fn add_gradients<M: Module>(
    module: &M,
    mut acc: GradientsParams,
    mut more: GradientsParams,
) -> GradientsParams {
    struct Add<'a> {
        acc: &'a mut GradientsParams,
        more: &'a mut GradientsParams,
    }
    impl ModuleVisitor for Add<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.more.remove::<D>(param.id) {
                let sum = match self.acc.remove::<D>(param.id) {
                    Some(a) => a + g,
                    None => g,
                };
                self.acc.register(param.id, sum);
            }
        }
    }
    module.visit(&mut Add {
        acc: &mut acc,
        more: &mut more,
    });
    acc
}
