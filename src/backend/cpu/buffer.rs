//! Page-aligned buffers for kernel inputs and outputs.
//!
//! Alignment is part of what is measured: a `Vec` lands wherever the allocator puts it, so
//! two runs of the same kernel (or the two sides of an A/B) can differ by tens of percent
//! from vector stores that split cache lines or buffers that straddle huge pages. Measured on
//! the development VM: an A/A run of `gemm/blocked` with `Vec` buffers reported +30% for
//! identical code. Every buffer here starts on a 4 KiB page, or on a 2 MiB boundary when it
//! is large enough for a transparent huge page (and then asks for huge pages), so placement
//! is the same every time.

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::ptr::NonNull;

const PAGE: usize = 4096;
const HUGE_PAGE: usize = 2 << 20;

/// Asks for transparent huge pages where the system leaves that to the program
/// (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`), so large buffers get the same
/// TLB behaviour every time instead of whatever the first faults happened to get. Best
/// effort: refusal changes nothing but that.
#[cfg(target_os = "linux")]
fn request_huge_pages(ptr: *mut u8, bytes: usize) {
    let len = bytes / HUGE_PAGE * HUGE_PAGE;
    // SAFETY: [ptr, ptr + len) lies inside an allocation we own; madvise only sets a hint.
    unsafe {
        libc::madvise(ptr.cast(), len, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn request_huge_pages(_ptr: *mut u8, _bytes: usize) {}

pub struct AlignedBuf<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    layout: Option<Layout>,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<T>.
unsafe impl<T: Copy + Send> Send for AlignedBuf<T> {}

impl<T: Copy> AlignedBuf<T> {
    /// A zero-filled buffer of `len` elements (all-zero bits must be a valid `T`: true for
    /// the integer and float types used here).
    pub fn zeroed(len: usize) -> Self {
        let bytes = len
            .checked_mul(size_of::<T>())
            .expect("buffer size overflow");
        if bytes == 0 {
            return AlignedBuf {
                ptr: NonNull::dangling(),
                len,
                layout: None,
            };
        }
        let align = if bytes >= HUGE_PAGE { HUGE_PAGE } else { PAGE };
        let layout = Layout::from_size_align(bytes, align.max(align_of::<T>()))
            .expect("valid buffer layout");
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw.cast::<T>()).unwrap_or_else(|| handle_alloc_error(layout));
        if bytes >= HUGE_PAGE {
            request_huge_pages(raw, bytes);
        }
        AlignedBuf {
            ptr,
            len,
            layout: Some(layout),
        }
    }

    pub fn from_slice(data: &[T]) -> Self {
        let mut buf = Self::zeroed(data.len());
        buf.as_mut_slice().copy_from_slice(data);
        buf
    }

    pub fn as_slice(&self) -> &[T] {
        // SAFETY: ptr is valid for len initialised elements (zeroed or copied).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as above, and &mut self makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }

    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Copy> Drop for AlignedBuf<T> {
    fn drop(&mut self) {
        if let Some(layout) = self.layout {
            // SAFETY: allocated in `zeroed` with exactly this layout.
            unsafe { dealloc(self.ptr.as_ptr().cast(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_page_or_huge_page_aligned() {
        let small = AlignedBuf::<f32>::from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(small.as_ptr() as usize % PAGE, 0);
        assert_eq!(small.as_slice(), &[1.0, 2.0, 3.0]);
        let big = AlignedBuf::<u8>::zeroed(HUGE_PAGE);
        assert_eq!(big.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(big.as_slice().iter().all(|&b| b == 0));
        let empty = AlignedBuf::<f32>::zeroed(0);
        assert_eq!(empty.len(), 0);
    }
}
