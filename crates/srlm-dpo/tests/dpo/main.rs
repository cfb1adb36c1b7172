//! srlm-dpo's tests, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod losses;
mod smollm2;
mod training;
