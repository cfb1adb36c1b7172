//! Tells the tests which fetched assets are present — the SmolLM2 model file, the ShareGPT seed
//! and MT-Bench — so that tests needing one are reported as ignored rather than silently passing.

include!("../../build/assets.rs");

fn main() {
    smollm2();
    asset("has_sharegpt", None, "assets/data/sharegpt.json");
    asset("has_mtbench", None, "assets/data/mt_bench.jsonl");
}
