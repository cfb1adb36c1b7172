//! srlm-eval's tests on hand-computed values and a synthetic run folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod following;
mod judge_comparison;
mod length_control;
mod report;
mod run;
mod scoring;
