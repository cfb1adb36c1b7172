//! Integration tests of srlm-model, in one binary (burn's math is slow to link many times).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the report

mod checkpoint;
mod common;
mod continuous;
mod device_sampling;
mod errors;
mod fixtures;
mod fused;
mod lora;
mod random;
mod shared_prompt;
mod smollm2;
