//! Integration tests of srlm-model, in one binary (burn's math is slow to link many times).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the report

mod checkpoint;
mod common;
mod compute_bf16;
mod continuous;
mod device_sampling;
mod errors;
mod fixtures;
mod fused;
mod fused_bf16;
mod lazy_write;
mod lora;
mod memory;
mod random;
mod shared_prompt;
mod smollm2;
