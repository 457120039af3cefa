//! A counting global allocator: live heap bytes and live allocations of the whole process.
//!
//! The leak oracle compares the live heap after every session has ended with a baseline. A
//! binary opts in by installing it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;
//! ```
//!
//! [`live`] is `None` in a binary that did not install it, so no oracle judges numbers that
//! were never counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::target::Heap;

/// Forwards every call to the system allocator and counts what is live.
pub struct Counting;

static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Set by the first allocation that went through [`Counting`].
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn grew(bytes: usize) {
    LIVE_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

fn shrank(bytes: usize) {
    LIVE_BYTES.fetch_sub(bytes as u64, Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are only
// updated for calls that succeeded.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            // One update by the difference, in wrapping arithmetic (a shrink wraps around).
            let change = (new_size as u64).wrapping_sub(layout.size() as u64);
            LIVE_BYTES.fetch_add(change, Ordering::Relaxed);
        }
        moved
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
}

/// The live heap now, or `None` if [`Counting`] is not this process's global allocator.
pub fn live() -> Option<Heap> {
    INSTALLED.load(Ordering::Relaxed).then(|| Heap {
        bytes: LIVE_BYTES.load(Ordering::Relaxed),
        allocations: LIVE_ALLOCATIONS.load(Ordering::Relaxed),
    })
}
