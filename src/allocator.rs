//! The `roster` binary's allocator: mimalloc for the small allocations that request handling makes
//! by the thousand (headers, keys, JSON), the system's allocator for large buffers.
//!
//! Why split by size:
//! - glibc's malloc and free were about a sixth of the server's CPU under the PBX directory's
//!   load; with mimalloc the server's CPU per directory lookup fell from 47–55 µs to 28–44 µs
//!   (BENCHMARKS.md, issue 14).
//! - Every password hash takes a 19 MiB buffer (argon2id, m = 19456 KiB). mimalloc alone kept
//!   such buffers after they were freed (106 MB resident after 64 sign-ins, against 17 MB, when
//!   tried for issue 11), while glibc, tuned in `main.rs`, serves them with mmap and gives them
//!   back at once. So blocks from `LARGE` up stay with glibc.
//!
//! The split is sound because Rust hands `dealloc` and `realloc` the layout the block was
//! allocated (or last reallocated) with: its size names the allocator that owns it.

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// Blocks of this size and larger come from the system's allocator.
pub const LARGE: usize = 1024 * 1024;

pub struct SplitBySize;

fn is_large(size: usize) -> bool {
    size >= LARGE
}

// SAFETY: each block is allocated, reallocated and freed by the same allocator, chosen by its
// size, which the layout passed back to `dealloc` and `realloc` carries; moving a block between
// the two allocators copies it into a block of the other one before freeing the old one.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for SplitBySize {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees about `layout` are passed on unchanged.
        unsafe {
            match is_large(layout.size()) {
                true => System.alloc(layout),
                false => MiMalloc.alloc(layout),
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            match is_large(layout.size()) {
                true => System.alloc_zeroed(layout),
                false => MiMalloc.alloc_zeroed(layout),
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated with `layout`, so by the allocator its size chooses.
        unsafe {
            match is_large(layout.size()) {
                true => System.dealloc(ptr, layout),
                false => MiMalloc.dealloc(ptr, layout),
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: within one allocator the caller's guarantees are passed on; across the two, a
        // new block of `new_size` (valid with the old alignment, as the caller guarantees) gets
        // the bytes both blocks hold, and only then is the old block freed.
        unsafe {
            match (is_large(layout.size()), is_large(new_size)) {
                (false, false) => MiMalloc.realloc(ptr, layout, new_size),
                (true, true) => System.realloc(ptr, layout, new_size),
                _ => {
                    let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks growing and shrinking across `LARGE` keep their bytes, whichever allocator holds
    /// them on each side.
    #[test]
    #[allow(unsafe_code)]
    fn blocks_keep_their_bytes_across_the_two_allocators() {
        let split = SplitBySize;
        let sizes = [16, LARGE - 1, LARGE, 3 * LARGE, 100, 2 * LARGE, LARGE - 8, 8];
        // SAFETY: every block is used within its current size and freed with its last layout.
        unsafe {
            let mut layout = Layout::from_size_align(sizes[0], 64).expect("valid layout");
            let mut ptr = split.alloc_zeroed(layout);
            assert!(!ptr.is_null());
            assert!(std::slice::from_raw_parts(ptr, layout.size()).iter().all(|b| *b == 0));
            for &size in &sizes[1..] {
                let kept = layout.size().min(size);
                for i in 0..kept {
                    *ptr.add(i) = (i % 251) as u8;
                }
                ptr = split.realloc(ptr, layout, size);
                assert!(!ptr.is_null(), "realloc to {size}");
                assert_eq!(ptr as usize % 64, 0, "alignment kept at {size}");
                layout = Layout::from_size_align(size, 64).expect("valid layout");
                let bytes = std::slice::from_raw_parts(ptr, kept);
                assert!(bytes.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8), "bytes kept at {size}");
            }
            split.dealloc(ptr, layout);
        }
    }
}
