//! Paths shared by the tests.

use std::path::PathBuf;

/// The repository's `tests/fixtures`, or `SRLM_FIXTURES`.
pub(crate) fn fixtures() -> PathBuf {
    match std::env::var_os("SRLM_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    }
}

/// A file under `tests/fixtures/data`.
pub(crate) fn data(name: &str) -> PathBuf {
    fixtures().join("data").join(name)
}

/// The expected importer outputs computed by `tools/fixtures/data_fixtures.py`.
pub(crate) fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(data("expected.json")).unwrap()).unwrap()
}

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
