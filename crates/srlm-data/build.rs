//! Tells the tests which fetched assets are present — the SmolLM2 model file
//! (`scripts/fetch-model.sh`), the ShareGPT seed and MT-Bench (`scripts/fetch-data.sh`) — so
//! that tests needing one are reported as ignored (skipped) rather than silently passing.

use std::path::{Path, PathBuf};

/// Sets `cfg` when the asset is a file: at `$variable` when that is set, else at `default`
/// (relative to the repository root).
fn asset(cfg: &str, variable: Option<&str>, default: &str) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    let set = variable.and_then(|v| {
        println!("cargo::rerun-if-env-changed={v}");
        std::env::var_os(v)
    });
    let path = match set {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(default),
    };
    println!("cargo::rerun-if-changed={}", path.display());
    if let Some(dir) = path.parent() {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    if path.is_file() {
        println!("cargo::rustc-cfg={cfg}");
    }
}

fn main() {
    asset(
        "has_smollm2",
        Some("SRLM_SMOLLM2"),
        "assets/SmolLM2-135M-Instruct.Q4_1.gguf",
    );
    asset("has_sharegpt", None, "assets/data/sharegpt.json");
    asset("has_mtbench", None, "assets/data/mt_bench.jsonl");
}
