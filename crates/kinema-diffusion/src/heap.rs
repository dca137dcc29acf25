//! Keeping freed activation memory in the process while a model runs.
//!
//! Why: glibc's `malloc` serves every block above its mmap threshold (at most 32 MiB) with
//! a fresh `mmap`, and unmaps it again on `free`; a thread other than the main one also
//! maps its own 64 MiB heaps and gets anything larger mmapped. A U-Net or transformer step
//! allocates hundreds of activations of 50–400 MiB, so each one is faulted in page by
//! page: the kernel zeroes every 4 KiB page and the threads writing an output take turns
//! on the page-table lock. On the SVD U-Net bench (2 cores) that was a fifth of the step
//! (`perf`: `exc_page_fault`, `_raw_spin_lock`, `clear_page`).
//!
//! Two settings fix it:
//! - [`share_one_heap`], called by the binary before it starts any thread: every thread
//!   allocates from glibc's main heap, which can grow to any size without mmap;
//! - a [`HeapRetention`] guard, held by each diffusion engine run: no block is mmapped and
//!   freed memory is not handed back, so the next activation reuses pages that are
//!   already mapped. When the last guard drops, glibc's defaults come back and
//!   `malloc_trim` returns the free memory, so a long-running worker does not keep a
//!   render's peak between jobs.
//!
//! Measured on the SVD U-Net bench: 34.0 s → 28.4 s with the engine on a worker thread,
//! peak 2974 → 3029 MiB. Only glibc is affected; elsewhere both are no-ops.

use std::sync::Mutex;

/// Live guards (the settings are process-wide, so nested or concurrent runs share them and
/// only the last one restores the defaults).
static GUARDS: Mutex<usize> = Mutex::new(0);

fn guards() -> std::sync::MutexGuard<'static, usize> {
    // A counter cannot be left half-updated, so a poisoned lock is still good.
    GUARDS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes every thread allocate from one heap (glibc `M_ARENA_MAX` = 1). Call it first thing
/// in `main`: a thread keeps the heap it first allocated from.
pub fn share_one_heap() {
    sys::share_one_heap();
}

/// While alive, freed memory stays in the process for reuse; see the module notes.
#[must_use = "the retention ends when the guard is dropped"]
pub struct HeapRetention(());

impl HeapRetention {
    /// Starts retaining (or joins the retention already in force).
    pub fn engage() -> Self {
        let mut live = guards();
        if *live == 0 {
            sys::retain();
        }
        *live += 1;
        HeapRetention(())
    }

    /// Whether any guard is alive now.
    pub fn in_force() -> bool {
        *guards() > 0
    }
}

impl Drop for HeapRetention {
    fn drop(&mut self) {
        let mut live = guards();
        *live = live.saturating_sub(1);
        if *live == 0 {
            sys::release();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod sys {
    /// glibc's defaults (`malloc.c`): up to 65 536 mmapped blocks, trim above 128 KiB.
    const DEFAULT_MMAP_MAX: i32 = 65_536;
    const DEFAULT_TRIM_THRESHOLD: i32 = 128 * 1024;

    pub fn share_one_heap() {
        // SAFETY: mallopt only changes allocator parameters, under malloc's own lock.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }

    pub fn retain() {
        // SAFETY: as above.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    }

    pub fn release() {
        // SAFETY: as above; malloc_trim only releases memory malloc holds free.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, DEFAULT_MMAP_MAX);
            libc::mallopt(libc::M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD);
            libc::malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod sys {
    pub fn share_one_heap() {}
    pub fn retain() {}
    pub fn release() {}
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn mmapped_bytes() -> usize {
        // SAFETY: mallinfo2 only reads malloc's statistics.
        unsafe { libc::mallinfo2() }.hblkhd
    }

    /// While a guard is alive, a block above glibc's largest mmap threshold (32 MiB) comes
    /// from a heap instead of its own mapping: glibc's count of mmapped bytes does not grow
    /// by it. (Without the guard it is always mmapped.) Guards nest.
    #[test]
    fn large_blocks_stay_on_the_heap_while_a_guard_lives() {
        const BLOCK: usize = 40 << 20;
        let outer = HeapRetention::engage();
        let inner = HeapRetention::engage();
        drop(inner);
        assert!(HeapRetention::in_force());
        let before = mmapped_bytes();
        let block = std::hint::black_box(vec![1u8; BLOCK]);
        let during = mmapped_bytes();
        assert_eq!(block[BLOCK - 1], 1);
        drop(block);
        assert!(
            during < before + BLOCK,
            "the block was mmapped: {before} -> {during} bytes"
        );
        drop(outer);
    }
}
