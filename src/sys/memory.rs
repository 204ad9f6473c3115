//! The allocator: handing memory that was freed back to the system. The only `unsafe` here is
//! glibc's `malloc_trim`, which walks the allocator's own free lists.
#![allow(unsafe_code)]

/// Return the free memory of every malloc arena to the system. glibc gives each thread that
/// allocates an arena of its own and keeps what is freed there: after the parallel walk and
/// hashing, the listings they built and dropped would otherwise stay in the process's resident
/// memory for the rest of the run. Called between stages, after a large structure is dropped.
pub fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: no pointer is passed; glibc only trims its own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}
