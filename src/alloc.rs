//! The counting global allocator: what each thread allocates, and which side of an in-process
//! run holds each live block.
//!
//! A binary opts in by installing it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;
//! ```
//!
//! In process, the client (the executor) and the server (the target) run on one thread, so a
//! thread's heap mixes the trace the client records with what the server keeps. Each block is
//! therefore charged, when it is allocated, to the [`Side`] whose code is running
//! ([`charged_to`], [`on_side`]); the charge is written in a header in front of the block, so
//! freeing it discharges the same side whoever frees it (the client drops the server's
//! response chunks). [`server_heap`] is what the server side holds: the reading the leak and
//! backpressure oracles judge.
//!
//! Everything is counted per thread: the jobs of a campaign and the tests of one binary each
//! run on their own thread, so each reads only its own work. Every reading is `None` in a
//! binary that did not install the allocator, so nothing judges numbers never counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use serde::Serialize;

/// Live blocks charged to the server side on one thread, or the change in them since a
/// reading.
///
/// Signed: a block charged on this thread and freed on another counts on both, so one thread's
/// figure can dip below zero. In process a target never leaves its thread, and only the
/// difference between two readings of one run is judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Heap {
    /// Bytes allocated and not yet freed.
    pub bytes: i64,
    /// Allocations not yet freed.
    pub allocations: i64,
}

/// What one thread did through [`Counting`] since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadHeap {
    /// Calls that asked for memory: `alloc`, `alloc_zeroed` and `realloc`.
    pub allocation_calls: u64,
    /// The live blocks charged to [`Side::Server`].
    pub server: Heap,
    /// The most bytes [`Self::server`] held since the thread began or since
    /// [`restart_server_peak`], whichever came last.
    pub server_peak: i64,
}

/// Which side of an in-process run an allocation is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The target: its handlers, its spawned tasks, its response bodies. The default, so that
    /// tasks the runtime polls outside the client's future are the server's.
    Server,
    /// The client: the executor, its decoders and the trace it records.
    Client,
}

impl Side {
    const fn tag(self) -> u8 {
        match self {
            Side::Server => 0,
            Side::Client => 1,
        }
    }
}

/// Forwards every call to the system allocator, with a header that records the side charged.
pub struct Counting;

/// The header in front of every block: at least this many bytes, and at least the block's
/// alignment, so the block stays aligned. The side's tag is its last byte.
const HEADER: usize = 16;

/// Set by the first allocation that went through [`Counting`].
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// One thread's state: its counts and the side charged now. One thread-local, so that an
/// allocation reads and updates it in a single access.
#[derive(Clone, Copy)]
struct ThreadState {
    counts: ThreadHeap,
    side: Side,
}

thread_local! {
    // `const` and `Copy`: no lazy initialisation and no destructor, so the allocator may touch
    // it at any time, even while the thread is being torn down.
    static THREAD: Cell<ThreadState> = const { Cell::new(ThreadState {
        counts: ThreadHeap {
            allocation_calls: 0,
            server: Heap { bytes: 0, allocations: 0 },
            server_peak: 0,
        },
        side: Side::Server,
    }) };
}

/// Applies `change` to this thread's state and returns what it returns; `None` once the
/// thread's locals are gone (the allocator may run after that).
fn on_thread<T>(change: impl FnOnce(&mut ThreadState) -> T) -> Option<T> {
    THREAD
        .try_with(|cell| {
            let mut state = cell.get();
            let result = change(&mut state);
            cell.set(state);
            result
        })
        .ok()
}

/// The header's size for `layout` and the layout of the whole allocation; `None` on overflow.
fn with_header(layout: Layout) -> Option<(usize, Layout)> {
    let header = layout.align().max(HEADER);
    let whole = Layout::from_size_align(layout.size().checked_add(header)?, header).ok()?;
    Some((header, whole))
}

/// Counts a new block of `bytes`, charged to the current side; returns that side's tag.
fn grew(bytes: usize) -> u8 {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    on_thread(|state| {
        state.counts.allocation_calls += 1;
        if state.side == Side::Server {
            state.counts.server.bytes += bytes as i64;
            state.counts.server.allocations += 1;
            state.counts.server_peak = state.counts.server_peak.max(state.counts.server.bytes);
        }
        state.side.tag()
    })
    .unwrap_or(Side::Server.tag())
}

// SAFETY: every block is a system allocation of `with_header(layout)`; the caller gets the
// address `header` bytes in, which keeps the caller's alignment since `header` is a multiple of
// it, and dealloc/realloc recompute the same header from the same layout to find the system
// block again. The tag byte lies inside the header, never in the caller's bytes. Counting
// never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { allocate(layout, |whole| System.alloc(whole)) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { allocate(layout, |whole| System.alloc_zeroed(whole)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some((header, whole)) = with_header(layout) else {
            return std::ptr::null_mut();
        };
        let Some(new_whole) = new_size.checked_add(header) else {
            return std::ptr::null_mut();
        };
        let base = unsafe { ptr.sub(header) };
        let moved = unsafe { System.realloc(base, whole, new_whole) };
        if moved.is_null() {
            return moved;
        }
        // The header moved with the block: the charge stays with the side that allocated it.
        let tag = unsafe { *moved.add(header - 1) };
        on_thread(|state| {
            state.counts.allocation_calls += 1;
            if tag == Side::Server.tag() {
                state.counts.server.bytes += new_size as i64 - layout.size() as i64;
                state.counts.server_peak = state.counts.server_peak.max(state.counts.server.bytes);
            }
        });
        unsafe { moved.add(header) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some((header, whole)) = with_header(layout) else {
            return;
        };
        let tag = unsafe { *ptr.sub(1) };
        unsafe { System.dealloc(ptr.sub(header), whole) };
        if tag == Side::Server.tag() {
            on_thread(|state| {
                state.counts.server.bytes -= layout.size() as i64;
                state.counts.server.allocations -= 1;
            });
        }
    }
}

/// Allocates `layout` behind a header with `system`, charged to the current side.
///
/// # Safety
/// As [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
unsafe fn allocate(layout: Layout, system: impl FnOnce(Layout) -> *mut u8) -> *mut u8 {
    let Some((header, whole)) = with_header(layout) else {
        return std::ptr::null_mut();
    };
    let base = system(whole);
    if base.is_null() {
        return base;
    }
    let tag = grew(layout.size());
    unsafe { base.add(header - 1).write(tag) };
    unsafe { base.add(header) }
}

/// What this thread has done so far, or `None` if [`Counting`] is not the global allocator.
pub fn this_thread() -> Option<ThreadHeap> {
    INSTALLED.load(Ordering::Relaxed).then(|| {
        THREAD
            .try_with(|cell| cell.get().counts)
            .unwrap_or_default()
    })
}

/// The live blocks this thread charged to [`Side::Server`], or `None` if [`Counting`] is not
/// the global allocator.
pub fn server_heap() -> Option<Heap> {
    this_thread().map(|thread| thread.server)
}

/// Restarts this thread's [`ThreadHeap::server_peak`] at what the server side holds now, and
/// returns that; `None` if [`Counting`] is not the global allocator.
pub fn restart_server_peak() -> Option<i64> {
    INSTALLED.load(Ordering::Relaxed).then(|| {
        on_thread(|state| {
            state.counts.server_peak = state.counts.server.bytes;
            state.counts.server.bytes
        })
        .unwrap_or_default()
    })
}

/// Runs `work` with its allocations charged to `side`, then restores the side before it.
pub fn on_side<T>(side: Side, work: impl FnOnce() -> T) -> T {
    let before = swap_side(side);
    let result = work();
    swap_side(before);
    result
}

fn swap_side(side: Side) -> Side {
    on_thread(|state| std::mem::replace(&mut state.side, side)).unwrap_or(Side::Server)
}

/// `future`, with every poll's allocations charged to `side` ([`charged_to`]).
#[derive(Debug)]
pub struct Charged<F> {
    side: Side,
    future: F,
}

/// Charges what `future` allocates while it is polled to `side`; a poll restores the side it
/// found, so charges nest (the client's future polls the server's).
pub fn charged_to<F: Future + Unpin>(side: Side, future: F) -> Charged<F> {
    Charged { side, future }
}

impl<F: Future + Unpin> Future for Charged<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let side = self.side;
        on_side(side, || Pin::new(&mut self.future).poll(cx))
    }
}
