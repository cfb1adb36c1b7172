//! The output projection's log-probs under autodiff: one node keeping `hidden`, the weight and
//! each row's `log Σ exp` (never the logits), whose backward pass is the backend's
//! [`LinearLogProbsBackward::linear_log_probs_backward`] — without the weight's gradient when
//! the weight is frozen.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::Autodiff;

use super::{LinearLogProbsBackward, LinearLogProbsOps};

#[derive(Debug)]
struct LinearLogProbsNode;

impl<B: LinearLogProbsBackward> Backward<B, 2> for LinearLogProbsNode {
    /// `hidden`, `weight`, the targets and each row's `log Σ exp`.
    type State = (FloatTensor<B>, FloatTensor<B>, Vec<u32>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [hidden_node, weight_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (hidden, weight, targets, lse) = ops.state;
        let weight_grad = weight_node.is_some();
        let (d_hidden, d_weight) =
            B::linear_log_probs_backward(hidden, weight, &targets, lse, grad, weight_grad);
        if let Some(node) = hidden_node {
            grads.register::<B>(node.id, d_hidden);
        }
        if let (Some(node), Some(d_weight)) = (weight_node, d_weight) {
            grads.register::<B>(node.id, d_weight);
        }
    }
}

impl<B: LinearLogProbsBackward, C: CheckpointStrategy> LinearLogProbsOps for Autodiff<B, C> {
    fn fused_linear_log_probs(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: Vec<u32>,
    ) -> FloatTensor<Self> {
        let (hidden, hidden_node) = hidden.into_parts();
        let (weight, weight_node) = weight.into_parts();
        match LinearLogProbsNode
            .prepare::<C>([hidden_node, weight_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (log_probs, lse) =
                    B::linear_log_probs_with_lse(hidden.clone(), weight.clone(), &targets);
                prep.finish((hidden, weight, targets, lse), log_probs)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_linear_log_probs(hidden, weight, targets))
            }
        }
    }
}
