//! The whole snippet's boundary with its page side, `www/whole.js`, without wasm-bindgen (as the
//! first-paint module's): numbers cross as they are, strings and byte runs as a pointer and a
//! length into this module's memory. Each module declares the page functions it needs
//! (`#[link(wasm_import_module = "splitbeam")]`); this file holds how bytes cross.
//!
//! - Rust → page: `(ptr, len)` of a live `str` or slice, read by the page before the call returns.
//! - Page → Rust: the page takes room with `alloc`, writes a u32 little-endian length and the
//!   bytes, and passes (or returns) the room's address, 0 for nothing; `take` reads and frees it.
//! - An export's answer: `answer` keeps it in one buffer until the next answer; the page reads
//!   it at once.

use std::alloc::{alloc as allocate, dealloc, Layout};
use std::cell::RefCell;

/// Room for `len` bytes the page fills before handing them over (`take` frees it), or 0.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    match Layout::from_size_align(len.max(1), 1) {
        // SAFETY: the layout's size is at least 1.
        Ok(layout) => unsafe { allocate(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// The bytes the page wrote at `at` (a length, then the bytes, in `alloc`'s room), freed; `None`
/// for 0.
pub fn take(at: *mut u8) -> Option<Vec<u8>> {
    if at.is_null() {
        return None;
    }
    // SAFETY: a non-null `at` comes from `alloc(4 + len)`, where the page wrote `len` and then `len`
    // bytes (www/whole.js `give`, its only writer); it is freed with that same layout.
    unsafe {
        let len = u32::from_le_bytes(std::ptr::read_unaligned(at.cast::<[u8; 4]>())) as usize;
        let bytes = std::slice::from_raw_parts(at.add(4), len).to_vec();
        dealloc(at, Layout::from_size_align_unchecked(4 + len, 1));
        Some(bytes)
    }
}

/// The text the page handed over at `at` (`TextEncoder` writes only UTF-8).
pub fn take_text(at: *mut u8) -> Option<String> {
    take(at).and_then(|bytes| String::from_utf8(bytes).ok())
}

thread_local! {
    static ANSWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Where an export's answer is for the page to read (a u32 length, then `bytes`), 0 for none.
/// Valid until the next answer.
pub fn answer(bytes: Option<&[u8]>) -> *const u8 {
    let Some(bytes) = bytes else { return std::ptr::null() };
    ANSWER.with(|cell| {
        let mut out = cell.borrow_mut();
        out.clear();
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
        out.as_ptr()
    })
}
