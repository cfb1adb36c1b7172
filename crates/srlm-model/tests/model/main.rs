//! Integration tests of srlm-model, in one binary (burn's math is slow to link many times).

mod common;
mod errors;
mod fixtures;
mod random;
mod smollm2;
