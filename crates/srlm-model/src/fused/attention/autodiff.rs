//! Attention under autodiff: one node keeping `q`, `k`, `v`, the output and each query's
//! `log Σ exp` (never the probabilities), whose backward pass is the backend's
//! [`AttentionBackward::attention_backward`].

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::Autodiff;

use super::{AttentionBackward, AttentionOps};

#[derive(Debug)]
struct AttentionNode {
    scale: f32,
}

impl<B: AttentionBackward> Backward<B, 3> for AttentionNode {
    /// `q`, `k`, `v`, the bias, the output and each query's `log Σ exp`.
    type State = [FloatTensor<B>; 6];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [q_node, k_node, v_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let [q, k, v, bias, out, lse] = ops.state;
        let (d_q, d_k, d_v) = B::attention_backward(q, k, v, bias, out, lse, grad, self.scale);
        for (node, d) in [(q_node, d_q), (k_node, d_k), (v_node, d_v)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, d);
            }
        }
    }
}

impl<B: AttentionBackward, C: CheckpointStrategy> AttentionOps for Autodiff<B, C> {
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let (q, q_node) = q.into_parts();
        let (k, k_node) = k.into_parts();
        let (v, v_node) = v.into_parts();
        let bias = bias.into_primitive();
        match (AttentionNode { scale })
            .prepare::<C>([q_node, k_node, v_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, lse) =
                    B::attention_with_lse(q.clone(), k.clone(), v.clone(), bias.clone(), scale);
                prep.finish([q, k, v, bias, out.clone(), lse], out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_attention(q, k, v, bias, scale)),
        }
    }
}
