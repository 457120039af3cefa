//! The counting global allocator: live heap of the whole process, and what each thread did.
//!
//! A binary opts in by installing it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;
//! ```
//!
//! Two views, both `None` in a binary that did not install it, so nothing judges numbers that
//! were never counted:
//! - [`live`]: bytes and allocations live in the whole process (a leak check on a target that
//!   owns the process, as the fuzz targets do);
//! - [`this_thread`]: the allocation calls this thread made and the bytes it allocated minus
//!   those it freed. Tests that share one binary run on threads of their own, so each reads
//!   only its own work ("offering a chunk allocates nothing" holds however many tests run
//!   beside it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

/// Live heap of the process, from [`Counting`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Heap {
    /// Bytes allocated and not yet freed.
    pub bytes: u64,
    /// Allocations not yet freed.
    pub allocations: u64,
}

/// What one thread did through [`Counting`] since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadHeap {
    /// Calls that asked for memory: `alloc`, `alloc_zeroed` and `realloc`.
    pub allocation_calls: u64,
    /// Bytes this thread allocated minus the bytes it freed (memory it handed to another thread
    /// to free stays counted here; memory another thread allocated and this one freed counts
    /// negative).
    pub net_bytes: i64,
}

/// Forwards every call to the system allocator and counts what is live.
pub struct Counting;

static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Set by the first allocation that went through [`Counting`].
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // `const` and `Copy`: no lazy initialisation and no destructor, so the allocator may touch
    // it at any time, even while the thread is being torn down.
    static THREAD: Cell<ThreadHeap> = const {
        Cell::new(ThreadHeap { allocation_calls: 0, net_bytes: 0 })
    };
}

fn on_thread(change: impl FnOnce(&mut ThreadHeap)) {
    // `try_with`: the allocator may run after this thread's locals are gone.
    let _ = THREAD.try_with(|cell| {
        let mut counts = cell.get();
        change(&mut counts);
        cell.set(counts);
    });
}

fn grew(bytes: usize) {
    LIVE_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    on_thread(|counts| {
        counts.allocation_calls += 1;
        counts.net_bytes += bytes as i64;
    });
}

fn shrank(bytes: usize) {
    LIVE_BYTES.fetch_sub(bytes as u64, Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
    on_thread(|counts| counts.net_bytes -= bytes as i64);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are only
// updated for calls that succeeded, and updating them never allocates.
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
            on_thread(|counts| {
                counts.allocation_calls += 1;
                counts.net_bytes += new_size as i64 - layout.size() as i64;
            });
        }
        moved
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
}

/// The live heap of the process now, or `None` if [`Counting`] is not its global allocator.
pub fn live() -> Option<Heap> {
    INSTALLED.load(Ordering::Relaxed).then(|| Heap {
        bytes: LIVE_BYTES.load(Ordering::Relaxed),
        allocations: LIVE_ALLOCATIONS.load(Ordering::Relaxed),
    })
}

/// What this thread has done so far, or `None` if [`Counting`] is not the global allocator.
pub fn this_thread() -> Option<ThreadHeap> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| THREAD.try_with(Cell::get).unwrap_or_default())
}
