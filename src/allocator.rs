//! How the process's C allocator (glibc malloc, which Rust's `System` allocator uses) hands
//! memory back to the operating system.
//!
//! (mimalloc was tried as the global allocator, issue #14: about 10% less server CPU per poll,
//! but 50% more idle memory, twice the peak under load, and the render memory report over its
//! limit unless it returns memory at once, which gave the gain back; docs/benchmarks.md.)
//!
//! Rendering allocates a few very large, short-lived buffers (a decoded 7000x7000 image is
//! 150-200 MB, a 4k frame 33 MB). glibc's default *dynamic* mmap threshold rises to the size of
//! the last freed mmapped chunk, so after the first big render, buffers of up to 32 MB come from
//! the heap arenas instead of mmap; freed, they stay in the process (one arena per thread that
//! touched them), and the next render's peak lands on top of them: measured 436 MiB for two
//! huge-image renders where a fixed threshold gives 315 MiB (tests/api/render.rs, the memory
//! report). A fixed threshold keeps every buffer above it mmapped, so freeing it returns it.

/// Allocations at or above this size are mmapped and returned to the OS when freed. Requests and
/// rows are far below it; image and frame buffers far above it.
pub const MMAP_THRESHOLD_BYTES: i32 = 256 * 1024;

/// Fixes the mmap threshold (turning off glibc's dynamic adjustment). Idempotent and cheap;
/// called when the application is built, so servers, workers and tests all get it.
pub fn return_large_buffers_to_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets allocator parameters; M_MMAP_THRESHOLD takes a byte
            // count, and any value up to HEAP_MAX is valid.
            let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) };
            if ok != 1 {
                tracing::warn!(
                    "could not set the allocator's mmap threshold; large renders may keep memory"
                );
            }
        });
    }
}
