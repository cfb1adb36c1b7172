//! A linear projection of `[batch, seq, in]` as one matrix product of its `batch · seq` rows:
//! when those are few (decoding a small batch), [`crate::fused::few_rows_matmul`] reads the
//! weight once instead of letting `gemm` pack it on every call. A projection with a LoRA
//! adapter adds its low-rank term without composing the dense weight.

use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;

/// `linear(x)` for `x` `[batch, seq, in]`, computed as one `[batch · seq, in]` product;
/// `lora_dropout` drops the input of an adapter, if the projection has one.
pub(crate) fn project(linear: &Linear, x: Tensor<3>, lora_dropout: &Dropout) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let rows = x.reshape([b * t, d]);
    let y = match (adapted(linear, &rows, lora_dropout), &linear.bias) {
        (Some(y), _) => y,
        (None, None) => crate::fused::few_rows_matmul(rows, linear.weight.val()),
        (None, Some(_)) => linear.forward(rows),
    };
    let out = y.dims()[1];
    y.reshape([b, t, out])
}

/// `x·W (+ bias) + s·(dropout(x)·A)·B` for `x` `[rows, in]` and a projection with a LoRA
/// adapter (`A` `[in, r]`, `B` `[r, out]`, `s` its scale), the dense `W + s·A·B` never formed;
/// `None` without an adapter.
fn adapted(linear: &Linear, x: &Tensor<2>, dropout: &Dropout) -> Option<Tensor<2>> {
    let adapter = linear.weight.adapter()?;
    let base = x.clone().matmul(linear.weight.base());
    let base = match &linear.bias {
        Some(bias) => base + bias.val().unsqueeze(),
        None => base,
    };
    // The scale on `B` (`[r, out]`), not on the `[rows, out]` product.
    let low = dropout
        .forward(x.clone())
        .matmul(adapter.a.val())
        .matmul(adapter.b.val().mul_scalar(adapter.scale));
    Some(base + low)
}
