//! Integration tests of srlm-judge (one binary).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http;
mod journal;
mod local;
mod metrics;
mod parse;
mod template;
