//! glibc's malloc, tuned for `bfte run`: a node that runs for months on a small machine.

/// Heap the allocator may keep free at its top before it returns memory to the system.
const TRIM_THRESHOLD: i32 = 128 * 1024;

/// Makes glibc's malloc hold on to less memory the process does not use; returns whether the
/// allocator took the settings (always, on other platforms, where there is nothing to set).
///
/// - One arena: the node's work is on one thread, and every other thread (the blob store's
///   runtime, tokio's blocking pool) otherwise gets an arena of its own, each with its own
///   free memory.
/// - A fixed trim threshold: by default glibc raises its trim and mmap thresholds to the size of
///   the largest block freed (iroh frees multi-megabyte buffers), after which freed memory stays
///   in the heap for good. Setting the threshold turns that adjustment off.
///
/// Measured (BENCHMARKS.md, session 25): with 4 peers near-empty, Pss per node 14.5 MiB before
/// and 12.4 MiB after, blocks/s unchanged. The replica (`bfte replicate`, two runtime workers)
/// keeps glibc's defaults: nothing measured it with one arena.
pub(super) fn keep_small() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // The workspace's one `unsafe` block: glibc has no safe interface for this.
        // SAFETY: `mallopt` only sets the allocator's parameters, under its own lock; it is
        // called with valid parameter numbers and values.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    true
}

/// [`keep_small`] before a long-running command starts its threads; a refusal costs memory, not
/// correctness, so it is a warning.
pub(super) fn keep_small_or_warn() {
    if !keep_small() {
        tracing::warn!("the allocator refused its settings; the node may hold more memory");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_allocator_takes_the_settings() {
        assert!(super::keep_small());
    }
}
