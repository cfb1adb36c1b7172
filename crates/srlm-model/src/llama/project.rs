//! A linear projection of `[batch, seq, in]` as one matrix product of its `batch · seq` rows:
//! when those are few (decoding a small batch), [`crate::fused::few_rows_matmul`] reads the
//! weight once instead of letting `gemm` pack it on every call. A projection with a LoRA
//! adapter adds its low-rank term without composing the dense weight. A weight stored in bf16
//! (a frozen LoRA base) multiplies its input cast to bf16, the product cast back to f32.
//! Projections of the same input ([`project_each`]: q/k/v, gate/up) share one copy of it cast
//! to the adapters' dtype: under bf16 compute the backward pass keeps that copy.

use burn::nn::{Dropout, Linear};
use burn::tensor::{FloatDType, Tensor};

/// `linear(x)` for `x` `[batch, seq, in]`, computed as one `[batch · seq, in]` product;
/// `lora_dropout` drops the input of an adapter, if the projection has one.
pub(crate) fn project(linear: &Linear, x: Tensor<3>, lora_dropout: &Dropout) -> Tensor<3> {
    let [y] = project_each([linear], x, lora_dropout);
    y
}

/// [`project`] of one input by each of `linears`. Without adapter dropout their adapters read
/// the same input, cast to the adapters' dtype once (a no-op at the same dtype).
pub(crate) fn project_each<const N: usize>(
    linears: [&Linear; N],
    x: Tensor<3>,
    lora_dropout: &Dropout,
) -> [Tensor<3>; N] {
    let [b, t, d] = x.dims();
    let rows = x.reshape([b * t, d]);
    let adapter_dtype = linears
        .iter()
        .find_map(|l| l.weight.adapter())
        .map(|a| a.a.val().dtype());
    let shared = match adapter_dtype {
        Some(dtype) if lora_dropout.prob == 0.0 => Some(rows.clone().cast(FloatDType::from(dtype))),
        _ => None,
    };
    linears.map(|linear| {
        let y = match (
            adapted(linear, &rows, shared.clone(), lora_dropout),
            &linear.bias,
        ) {
            (Some(y), _) => y,
            (None, None) => stored_matmul(rows.clone(), linear.weight.val()),
            (None, Some(bias)) if linear.weight.dtype() != rows.dtype() => {
                let y = stored_matmul(rows.clone(), linear.weight.val());
                let bias = bias.val().cast(FloatDType::from(y.dtype()));
                y + bias.unsqueeze()
            }
            (None, Some(_)) => linear.forward(rows.clone()),
        };
        let out = y.dims()[1];
        y.reshape([b, t, out])
    })
}

/// `x·W (+ bias) + s·(dropout(x)·A)·B` for `x` `[rows, in]` and a projection with a LoRA
/// adapter (`A` `[in, r]`, `B` `[r, out]`, `s` its scale), the dense `W + s·A·B` never formed,
/// the result at `x`'s dtype; `None` without an adapter. `shared` is `x` already cast to the
/// adapter's dtype (no dropout); without it `x` is dropped and cast here.
fn adapted(
    linear: &Linear,
    x: &Tensor<2>,
    shared: Option<Tensor<2>>,
    dropout: &Dropout,
) -> Option<Tensor<2>> {
    let adapter = linear.weight.adapter()?;
    let base = stored_matmul(x.clone(), linear.weight.base());
    let base = match &linear.bias {
        Some(bias) => {
            let bias = bias.val().cast(FloatDType::from(base.dtype()));
            base + bias.unsqueeze()
        }
        None => base,
    };
    // The scale on `B` (`[r, out]`), not on the `[rows, out]` product; the adapters in their
    // own dtype (f32), the sum in the activations'.
    let a = adapter.a.val();
    let input = match shared {
        Some(input) if input.dtype() == a.dtype() => input,
        _ => dropout.forward(x.clone()).cast(FloatDType::from(a.dtype())),
    };
    let low = input
        .matmul(a)
        .matmul(adapter.b.val().mul_scalar(adapter.scale));
    Some(base + low.cast(FloatDType::from(x.dtype())))
}

/// `x · w` for a weight stored at any float dtype: at `x`'s dtype through
/// [`crate::fused::few_rows_matmul`]; otherwise `x` cast to the weight's dtype (bf16 × bf16, f32
/// accumulation where the backend has it) and the product cast back. Under autodiff the casts
/// carry the gradient to `x`; a frozen weight gets none.
fn stored_matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    let (x_dtype, w_dtype) = (x.dtype(), w.dtype());
    if x_dtype == w_dtype || !w_dtype.is_float() || !x_dtype.is_float() {
        return crate::fused::few_rows_matmul(x, w);
    }
    x.cast(FloatDType::from(w_dtype))
        .matmul(w)
        .cast(FloatDType::from(x_dtype))
}
