//! What the host says of its memory (Linux's `/proc`): the machine's total, and what a process
//! can count on. A leaf: the model's config and the memory plan both read it.

/// A field of `/proc/{file}` in bytes (the kernel writes `Name:   N kB`), where the system says it.
fn proc_kib(file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The machine's memory (`MemTotal` of `/proc/meminfo`), where the system says it.
pub(crate) fn host_memory_bytes() -> Option<u64> {
    proc_kib("meminfo", "MemTotal:")
}

/// The host memory this process can count on: what the system has available (`MemAvailable`)
/// plus what the process already holds (`VmRSS`: a model it has loaded is part of a plan); `None`
/// where the system does not say (not Linux).
pub fn host_available_bytes() -> Option<u64> {
    proc_kib("meminfo", "MemAvailable:")?.checked_add(proc_kib("self/status", "VmRSS:")?)
}
