//! srlm-loop's tests, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod filters;
mod lora_base;
mod pairs;
mod pieces;
mod run;
mod served;
mod verifiable;
