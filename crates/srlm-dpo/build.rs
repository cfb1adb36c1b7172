//! Tells the tests whether the SmolLM2 model file is present, so that tests needing it are
//! reported as ignored rather than failing or silently passing.

include!("../../build/assets.rs");

fn main() {
    smollm2();
}
