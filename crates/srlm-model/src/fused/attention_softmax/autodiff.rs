//! The attention softmax under autodiff: one node, keeping the output, whose backward pass is
//! the backend's [`AttentionSoftmaxBackward::attention_softmax_backward`].

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::Autodiff;

use super::{AttentionSoftmaxBackward, AttentionSoftmaxOps};

#[derive(Debug)]
struct AttentionSoftmaxNode {
    scale: f32,
}

impl<B: AttentionSoftmaxBackward> Backward<B, 1> for AttentionSoftmaxNode {
    /// The forward's output.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [scores_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = scores_node {
            let d_scores = B::attention_softmax_backward(ops.state, grad, self.scale);
            grads.register::<B>(node.id, d_scores);
        }
    }
}

impl<B: AttentionSoftmaxBackward, C: CheckpointStrategy> AttentionSoftmaxOps for Autodiff<B, C> {
    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let (scores, scores_node) = scores.into_parts();
        let bias = bias.into_primitive();
        match (AttentionSoftmaxNode { scale })
            .prepare::<C>([scores_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let probs = B::fused_attention_softmax(scores, bias, scale);
                prep.finish(probs.clone(), probs)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_attention_softmax(scores, bias, scale))
            }
        }
    }
}
