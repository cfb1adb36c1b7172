//! What an objective is, for its checkpoints: its name, settings and a fingerprint of what it
//! trains on (token ids; for DPO also the reference's log-probs, which identify the reference
//! model). A run resumes only into the same objective; [`differing_fields`] names what changed.

use serde_json::Value;
use srlm_data::{EncodedExample, EncodedPair};

/// FNV-1a, 64 bits: a fingerprint, not a defence against a crafted collision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fingerprint(u64);

impl Fingerprint {
    pub(crate) fn new() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    /// Adds a sequence of ids, its length first (so `[1, 2] [3]` differs from `[1] [2, 3]`).
    pub(crate) fn ids(&mut self, ids: &[u32]) -> &mut Self {
        self.bytes(&(ids.len() as u64).to_le_bytes());
        for id in ids {
            self.bytes(&id.to_le_bytes());
        }
        self
    }

    /// Adds values by their bits.
    pub(crate) fn floats(&mut self, values: &[f32]) -> &mut Self {
        self.bytes(&(values.len() as u64).to_le_bytes());
        for v in values {
            self.bytes(&v.to_bits().to_le_bytes());
        }
        self
    }

    /// Adds an example's prompt and response ids.
    pub(crate) fn example(&mut self, e: &EncodedExample) -> &mut Self {
        self.ids(&e.prompt).ids(&e.response)
    }

    /// Hex digits.
    pub(crate) fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The fingerprint of a list of pairs.
pub(crate) fn pairs_fingerprint(pairs: &[EncodedPair]) -> String {
    let mut f = Fingerprint::new();
    for p in pairs {
        f.example(&p.chosen).example(&p.rejected);
    }
    f.hex()
}

/// The top-level fields of two identities that differ, each as `field: saved → now`; for a
/// nested object, its differing fields with the path (`loss.config.beta: 0.1 → 50.0`).
pub(crate) fn differing_fields(saved: &Value, now: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("", saved, now, &mut out);
    out
}

fn diff(path: &str, saved: &Value, now: &Value, out: &mut Vec<String>) {
    match (saved, now) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff(
                    &child,
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {a} → {b}")),
        _ => {}
    }
}
