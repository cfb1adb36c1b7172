//! AdamW on burn's CubeCL backends: the reference's tensor operations, which burn's fusion
//! compiles, on the primitives the backend extension hands over.

use burn::backend::tensor::FloatTensor;
use burn::backend::Cube;

use super::{reference, AdamWOps, AdamWStep};
use crate::fused::cube_tensors::{lift_flat, lower_as};

impl AdamWOps for Cube {
    fn fused_adamw(
        value: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (value, shape) = lift_flat(value);
        let (grad, m, v) = (lift_flat(grad).0, lift_flat(m).0, lift_flat(v).0);
        let (value, m, v) = reference::adamw_update(value, grad, m, v, &step);
        (
            lower_as(value, shape.clone()),
            lower_as(m, shape.clone()),
            lower_as(v, shape),
        )
    }
}
