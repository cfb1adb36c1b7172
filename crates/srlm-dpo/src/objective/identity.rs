//! What an objective is, for its checkpoints: its name, settings and SHA-256 hashes of what it
//! trains on (token ids: `crate::data_hash`; for DPO also the reference's log-probs, which
//! identify the reference model). A run resumes only into the same objective;
//! [`differing_fields`] names what changed.

use serde_json::Value;

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
