//! AdamW on flex: the kernel of `kernel.rs`, in place on the buffers nothing else holds.

use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use super::{kernel, AdamWOps, AdamWStep};
use crate::fused::flex_tensors::{contiguous, owned_contiguous, values};

impl AdamWOps for Flex {
    fn fused_adamw(
        value: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let mut value = owned_contiguous(value);
        let (mut m, mut v) = (owned_contiguous(m), owned_contiguous(v));
        let grad = contiguous(&grad);
        kernel::adamw_update(
            value.storage_mut::<f32>(),
            values(&grad),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
            &step,
        );
        (value, m, v)
    }
}
