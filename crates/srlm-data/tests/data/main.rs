//! srlm-data's tests, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod eft;
mod encode;
mod importers;
mod jsonl;
mod natural;
mod split;
