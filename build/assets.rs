// Which fetched assets are present, for the build scripts of the crates whose tests need one
// (each `include!`s this file): the SmolLM2 model file (`scripts/fetch-model.sh`), the ShareGPT
// seed and MT-Bench (`scripts/fetch-data.sh`). A test needing an asset carries
// `#[cfg_attr(not(has_…), ignore = "…")]`: reported as ignored, never passing, without it.

/// Sets `cfg` when the asset is a file: at `$variable` when that is set, else at `default`
/// (relative to the repository root).
#[allow(dead_code)] // each build script uses the assets its tests need
fn asset(cfg: &str, variable: Option<&str>, default: &str) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    let set = variable.and_then(|v| {
        println!("cargo::rerun-if-env-changed={v}");
        std::env::var_os(v)
    });
    let path = match set {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
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

/// `has_smollm2`: the SmolLM2 GGUF, at `$SRLM_SMOLLM2` or in `assets/`.
#[allow(dead_code)]
fn smollm2() {
    asset(
        "has_smollm2",
        Some("SRLM_SMOLLM2"),
        "assets/SmolLM2-135M-Instruct.Q4_1.gguf",
    );
}
