//! The optimizer phase of a training step alone (`--work adamw`): the global gradient norm, the
//! clipping and one AdamW update over every trainable parameter (the adapters with `--lora`),
//! with random gradients, as the trainer runs them. Its rate counts parameters updated per
//! second; the update's layout is the trainer's default (per tensor), or
//! `SRLM_ADAMW_LAYOUT=per-tensor|buckets`.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use srlm::dpo::{clip_coefficient, AdamW, AdamWConfig, GatheredGrads, UpdateLayout};
use srlm::model::burn::module::{Module, ModuleVisitor, Param};
use srlm::model::burn::optim::GradientsParams;
use srlm::model::burn::tensor::{Device, Distribution, Tensor};
use srlm::model::{parse_device, read_f32, Llama, LoraConfig};

use super::generation::load_model;
use super::{median, peak_rss_mib, reset_peaks, Record};

/// The update's layout: the trainer's default unless `SRLM_ADAMW_LAYOUT` names one.
fn layout() -> Result<UpdateLayout> {
    match std::env::var("SRLM_ADAMW_LAYOUT").as_deref() {
        Err(_) => Ok(UpdateLayout::default()),
        Ok("per-tensor") => Ok(UpdateLayout::PerTensor),
        Ok("buckets") => Ok(UpdateLayout::Buckets),
        Ok(other) => bail!("SRLM_ADAMW_LAYOUT={other:?}: expected per-tensor or buckets"),
    }
}

/// A random gradient for every trainable parameter of `model`, and how many values they hold.
fn random_grads(model: &Llama, device: &Device) -> (GradientsParams, usize) {
    struct Random<'a> {
        device: &'a Device,
        grads: GradientsParams,
        values: usize,
    }
    impl ModuleVisitor for Random<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            if value.is_require_grad() {
                let dims = value.dims();
                self.values += dims.iter().product::<usize>();
                let grad = Tensor::<D>::random(dims, Distribution::Normal(0.0, 1e-3), self.device);
                self.grads.register(param.id, grad);
            }
        }
    }
    let mut random = Random {
        device,
        grads: GradientsParams::new(),
        values: 0,
    };
    model.visit(&mut random);
    (random.grads, random.values)
}

/// The first value of the last trainable parameter, read back: every update queued before it
/// has run.
fn wait_for_updates(model: &Llama) -> Result<()> {
    struct Last(Option<Tensor<1>>);
    impl ModuleVisitor for Last {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            if value.is_require_grad() {
                let n = value.dims().iter().product::<usize>();
                self.0 = Some(value.inner().reshape([n]).slice(0..1));
            }
        }
    }
    let mut last = Last(None);
    model.visit(&mut last);
    if let Some(value) = last.0 {
        read_f32(value, "a parameter")?;
    }
    Ok(())
}

pub(crate) fn measure(
    source: &str,
    device: &str,
    reps: usize,
    lora: Option<LoraConfig>,
) -> Result<Record> {
    let device = parse_device(device)?;
    let layout = layout()?;
    let (model, _, _) = load_model(source, &device, lora.as_ref())?;
    let model = match &lora {
        Some(lora) => model.with_lora(lora, 0).context("adding the adapters")?,
        None => model,
    };
    let mut model = model.train();
    let load_peak = reset_peaks();
    let inner = model.device().inner();
    let mut optim = AdamW::new(AdamWConfig {
        layout,
        ..AdamWConfig::default()
    });
    let mut times = Vec::with_capacity(reps);
    let mut values = 0;
    for _ in 0..=reps {
        let (grads, count) = random_grads(&model, &inner);
        values = count;
        let started = Instant::now();
        let grads = GatheredGrads::gather(&model, grads, optim.layout());
        let norm = grads.global_norm(&model)?;
        let grads = grads.scaled(&model, clip_coefficient(norm, 1.0));
        model = optim.step_gathered(1e-6, model, grads);
        wait_for_updates(&model)?;
        times.push(started.elapsed().as_secs_f64());
    }
    if values == 0 {
        bail!("the model has no trainable parameter");
    }
    // The first update is the warm-up.
    let seconds = median(times[1..].to_vec());
    let mut work = "adamw".to_string();
    if let Some(lora) = &lora {
        work.push_str(&format!("+lora{}", lora.rank));
    }
    if layout == UpdateLayout::Buckets {
        work.push_str("+buckets");
    }
    Ok(Record {
        work,
        batch: 1,
        tokens_per_s: values as f64 / seconds,
        peak_rss_mib: peak_rss_mib(),
        peak_heap_mib: Some(crate::heap::peak_heap_mib()),
        load_peak_mib: load_peak,
        peak_device_mib: None,
        planned_mib: None,
        phases: Some([0.0, 0.0, seconds]),
        fused: srlm::model::fused::enabled_ops(),
        generation: String::new(),
    })
}
