//! The process's allocators: mimalloc for everything Rust allocates, and how glibc malloc (still
//! what the C code in the process uses: SQLite's page cache and statements) hands memory back to
//! the operating system.
//!
//! mimalloc: under polling load glibc's malloc, free and `malloc_consolidate` were 15-20% of the
//! server's CPU (a request allocates and frees hundreds of small strings, often on another
//! thread than the one that allocated them, which glibc handles slowly and mimalloc cheaply). It
//! is the global allocator of the library, so the server, the tools and the tests all run on it.
//! It returns freed memory to the OS on its own, a few milliseconds later (the render memory
//! report in tests/api/render.rs checks the peak).
//!
//! glibc:
//! Rendering allocates a few very large, short-lived buffers (a decoded 7000x7000 image is
//! 150-200 MB, a 4k frame 33 MB). glibc's default *dynamic* mmap threshold rises to the size of
//! the last freed mmapped chunk, so after the first big render, buffers of up to 32 MB come from
//! the heap arenas instead of mmap; freed, they stay in the process (one arena per thread that
//! touched them), and the next render's peak lands on top of them: measured 436 MiB for two
//! huge-image renders where a fixed threshold gives 315 MiB (tests/api/render.rs, the memory
//! report). A fixed threshold keeps every buffer above it mmapped, so freeing it returns it.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
