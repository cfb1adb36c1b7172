//! [`FusedOps`] under autodiff: each fused forward registers a hand-written backward pass that
//! calls the backend's [`FusedBackward`] kernels (one pass each) instead of the 3–6 passes
//! burn-autodiff would record for the composed operations.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend};

use super::ops::{FusedBackward, FusedOps};
use super::AdamWStep;

#[derive(Debug)]
struct RmsNormBackward;

impl<B: FusedBackward> Backward<B, 2> for RmsNormBackward {
    /// `x`, the weight, and the per-row inverse root mean square.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, inverse) = ops.state;
        let (dx, dw) = B::rms_norm_backward(x, weight, inverse, grad);
        if let Some(node) = x_node {
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = weight_node {
            grads.register::<B>(node.id, dw);
        }
    }
}

#[derive(Debug)]
struct SwigluBackward;

impl<B: FusedBackward> Backward<B, 2> for SwigluBackward {
    /// `gate` and `up`.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [gate_node, up_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (gate, up) = ops.state;
        let (d_gate, d_up) = B::swiglu_backward(gate, up, grad);
        if let Some(node) = gate_node {
            grads.register::<B>(node.id, d_gate);
        }
        if let Some(node) = up_node {
            grads.register::<B>(node.id, d_up);
        }
    }
}

#[derive(Debug)]
struct AttentionSoftmaxBackward {
    scale: f32,
}

impl<B: FusedBackward> Backward<B, 1> for AttentionSoftmaxBackward {
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

#[derive(Debug)]
struct AttentionBackward {
    scale: f32,
}

impl<B: FusedBackward> Backward<B, 3> for AttentionBackward {
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

#[derive(Debug)]
struct LinearLogProbsBackward;

impl<B: FusedBackward> Backward<B, 2> for LinearLogProbsBackward {
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

#[derive(Debug)]
struct RotaryBackward;

impl<B: FusedBackward> Backward<B, 1> for RotaryBackward {
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

impl<B: FusedBackward, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn fused_rotary(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (cos, sin) = (cos.into_primitive(), sin.into_primitive());
        match RotaryBackward
            .prepare::<C>([x_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = B::fused_rotary(x, cos.clone(), sin.clone());
                prep.finish((cos, sin), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_rotary(x, cos, sin)),
        }
    }

    /// Burn's tracked product: the few-rows kernel serves inference only.
    fn fused_few_rows_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as FloatTensorOps<Self>>::float_matmul(x, w)
    }

    /// Burn's tracked product with the transposed weight, as above.
    fn fused_few_rows_matmul_transposed(
        x: FloatTensor<Self>,
        e: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let e = <Self as FloatTensorOps<Self>>::float_transpose(e);
        <Self as FloatTensorOps<Self>>::float_matmul(x, e)
    }

    /// The optimizer's update never records a graph: the new tensors are constants.
    fn fused_adamw(
        value: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (value, m, v) = B::fused_adamw(
            value.into_primitive(),
            grad.into_primitive(),
            m.into_primitive(),
            v.into_primitive(),
            step,
        );
        (
            Self::from_inner(value),
            Self::from_inner(m),
            Self::from_inner(v),
        )
    }

    fn fused_linear_log_probs(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: Vec<u32>,
    ) -> FloatTensor<Self> {
        let (hidden, hidden_node) = hidden.into_parts();
        let (weight, weight_node) = weight.into_parts();
        match LinearLogProbsBackward
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

    fn fused_rms_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (weight, weight_node) = weight.into_parts();
        match RmsNormBackward
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

    fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
        let (gate, gate_node) = gate.into_parts();
        let (up, up_node) = up.into_parts();
        match SwigluBackward
            .prepare::<C>([gate_node, up_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::fused_swiglu(gate.clone(), up.clone());
                prep.finish((gate, up), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_swiglu(gate, up)),
        }
    }

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
        match (AttentionBackward { scale })
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

    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let (scores, scores_node) = scores.into_parts();
        let bias = bias.into_primitive();
        match (AttentionSoftmaxBackward { scale })
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
