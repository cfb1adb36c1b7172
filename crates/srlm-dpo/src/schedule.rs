//! The learning-rate schedule: linear warm-up to a peak, then cosine decay to a final rate.

use serde::{Deserialize, Serialize};

/// Warm-up then cosine, as a pure function of the step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Peak learning rate (the paper: SFT 5.5e-6, DPO 1e-6).
    pub peak: f64,
    /// Final learning rate (the paper: SFT 1.1e-6, DPO 1e-7).
    pub last: f64,
    /// Warm-up steps.
    pub warmup: usize,
    /// Total optimizer steps.
    pub total: usize,
}

impl Schedule {
    /// The rate of optimizer step `step` (0-based): `peak · (step+1)/warmup` during warm-up, then
    /// `last + (peak − last) · ½(1 + cos(π · p))` with `p` going from 0 at the end of warm-up to 1
    /// at the last step.
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.peak * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup + 1).max(1);
        let progress = ((step - self.warmup) as f64 / span as f64).min(1.0);
        self.last + (self.peak - self.last) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}
