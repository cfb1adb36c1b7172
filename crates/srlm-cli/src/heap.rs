//! The process's allocator, counting the bytes it holds once [`start_counting`] is called (only
//! `srlm bench` calls it): the bench reports the peak of live heap memory beside the peak
//! resident set (`VmHWM`), which also counts memory the allocator kept after it was freed. Every
//! other command pays one relaxed load per allocation; counting costs two atomic operations.
//!
//! On glibc, [`keep_freed_memory`] also stops the allocator from handing freed activation
//! buffers back to the kernel, which a training step would otherwise fault in again, page by
//! zeroed page, on its next allocation of the same size; [`release_freed_memory`] hands them
//! back between the stages of a run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// [`System`], counting.
pub(crate) struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since counting started (a block allocated before and freed
/// after makes it a little low, hence signed).
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

/// Counts every allocation from now on (`srlm bench`: before any work is measured).
pub(crate) fn start_counting() {
    COUNTING.store(true, Ordering::Relaxed);
}

fn grew(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        let bytes = bytes as isize;
        let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

fn shrank(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_sub(bytes as isize, Ordering::Relaxed);
    }
}

// SAFETY: every call goes to `System` with the caller's arguments unchanged; the counters are
// bookkeeping only and never influence what is allocated.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator (so by `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, and `new_size` is the caller's, checked by its contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

/// Starts the peak over from what is held now (`srlm bench`: once the model is ready, so that
/// the peak is the work's and not the loading's).
pub(crate) fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// The most heap memory this process has held at once, MiB.
pub(crate) fn peak_heap_mib() -> f64 {
    PEAK.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

/// Sets glibc's allocator to serve allocations up to 32 MiB (a step's activations, gradients and
/// logit chunks) from its heap and never to trim the heap's free top (up to 2 GiB): by default
/// glibc maps large blocks fresh and unmaps them on free, so every step's buffers come back as
/// new zeroed pages and page faults. Measured in `docs/performance-log.md` (*The allocator keeps
/// freed pages*): faster steps, peak resident memory unchanged. The library crates leave the
/// allocator to their users; this is the binary's choice.
pub(crate) fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes two thresholds of glibc's allocator; it is called before
    // any other thread exists, and both values are in the ranges glibc accepts (a rejected value
    // leaves the default, which is harmless).
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}

/// Hands the free pages of glibc's heap back to the kernel (`malloc_trim`), where
/// [`keep_freed_memory`] keeps them during a stage: `srlm run` calls it after each stage, so
/// that a training stage's freed activations do not stay in the resident set while the next
/// stage generates. A walk over the heap, once a stage; free blocks stay free.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns pages of free chunks to the kernel (`madvise`); it is
    // safe to call from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_counts_a_large_allocation_while_it_lives() {
        start_counting();
        let before = peak_heap_mib();
        let block = vec![1u8; 64 << 20];
        // Other tests' threads may free blocks allocated before counting started, which takes
        // a few bytes off the live count (it is signed for that): a 64 MiB block still shows.
        assert!(peak_heap_mib() >= 63.0, "{}", peak_heap_mib());
        assert!(peak_heap_mib() >= before);
        drop(block);
        let live = LIVE.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0);
        assert!(live < peak_heap_mib());
    }
}
