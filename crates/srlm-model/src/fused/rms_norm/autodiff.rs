//! RMSNorm under autodiff: one node whose backward pass is the backend's
//! [`RmsNormBackward::rms_norm_backward`], instead of the 3–6 nodes burn-autodiff would record
//! for the composed operations.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::Autodiff;

use super::{RmsNormBackward, RmsNormOps};

#[derive(Debug)]
struct RmsNormNode;

impl<B: RmsNormBackward> Backward<B, 2> for RmsNormNode {
    /// `x`, the weight, and the per-row inverse root mean square.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, inverse) = ops.state;
        let (dx, dw) = B::rms_norm_backward(x, weight, inverse, grad, weight_node.is_some());
        if let Some(node) = x_node {
            grads.register::<B>(node.id, dx);
        }
        if let (Some(node), Some(dw)) = (weight_node, dw) {
            grads.register::<B>(node.id, dw);
        }
    }
}

impl<B: RmsNormBackward, C: CheckpointStrategy> RmsNormOps for Autodiff<B, C> {
    fn fused_rms_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (weight, weight_node) = weight.into_parts();
        match RmsNormNode
            .prepare::<C>([x_node, weight_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, inverse) = B::rms_norm_with_inverse(x.clone(), weight.clone(), eps);
                prep.finish((x, weight, inverse), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_rms_norm(x, weight, eps)),
        }
    }
}
