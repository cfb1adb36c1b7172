//! The rotary embedding under autodiff: one node keeping the tables, whose backward pass is the
//! backend's [`RotaryBackward::rotary_backward`].

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::Autodiff;

use super::{RotaryBackward, RotaryOps};

#[derive(Debug)]
struct RotaryNode;

impl<B: RotaryBackward> Backward<B, 1> for RotaryNode {
    /// The cos and sin tables.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = x_node {
            let (cos, sin) = ops.state;
            grads.register::<B>(node.id, B::rotary_backward(grad, cos, sin));
        }
    }
}

impl<B: RotaryBackward, C: CheckpointStrategy> RotaryOps for Autodiff<B, C> {
    fn fused_rotary(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (cos, sin) = (cos.into_primitive(), sin.into_primitive());
        match RotaryNode.prepare::<C>([x_node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::fused_rotary(x, cos.clone(), sin.clone());
                prep.finish((cos, sin), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_rotary(x, cos, sin)),
        }
    }
}
