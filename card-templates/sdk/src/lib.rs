//! `card-sdk`: the WIT bindings, the `Design` trait and its guest glue, and the HTML/formatting helpers every Rust card design shares.
//!
//! A design crate (`#![no_std]`, `extern crate alloc;`) is only its own style and markup:
//!
//! ```
//! use card_sdk::{CardInput, Design, Html, RenderError};
//!
//! pub struct Hello;
//!
//! impl Design for Hello {
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = "1.0.0";
//!     const STYLE: &'static str = "h1{font-size:64px}";
//!
//!     fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError> {
//!         html.raw("<h1 dir=auto>").text(&input.listing.title).raw("</h1>");
//!         Ok(())
//!     }
//! }
//!
//! card_sdk::export_design!(Hello);
//! ```
//!
//! [`Design`] gives the type the WIT exports (`describe`, and `render` with the size check and
//! the shared document head of [`Html::document`]); [`export_design!`] exports them from the
//! component. With the `testing` feature, [`testing`] holds the checks every design's host
//! tests run.
//!
//! The crate is `no_std` + `alloc` so a guest imports nothing: a `std` guest would import
//! 14 `wasi:*` interfaces even for a pure function, and the `card` world offers none.
//! On `wasm32` it provides the global allocator and the panic handler; on the host it links
//! `std` only so that host builds of design crates (tests, previews, the `cdylib` target)
//! have a panic runtime. No SDK code outside `cfg(test)` uses `std`.
#![no_std]

extern crate alloc;
// Host builds only: gives `cdylib`/test/example targets of `no_std` design crates a panic
// runtime and allocator. Guests (`wasm32`) never link `std`.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;
// Lets the generated bindings name this crate as `card_sdk::…` from inside and outside.
extern crate self as card_sdk;

mod design;
mod escape;
mod fit;
mod format;
mod html;
mod image;
mod text;

pub mod fixture;
pub mod samples;
#[cfg(feature = "testing")]
pub mod testing;

pub use design::Design;
pub use escape::{escape_css_string, escape_html, push_css_string, push_escaped};
pub use fit::{bold_width_em, fit_size};
pub use format::{
    Condition, PRICE_UNAVAILABLE, format_count, format_one_decimal, format_price, ram_label,
    size_label, storage_label,
};
pub use html::{FONT_STACK, Html};
pub use image::{data_uri, push_data_uri, safe_image_data_uri};
pub use text::{
    DEFAULT_BRAND, ELLIPSIS, UNTITLED_LISTING, first_grapheme, grapheme_count, truncate_graphemes,
    visible_text,
};

/// Bindings generated from `wit/card.wit` (world `card`).
///
/// They live here, once, so every design shares the same types and the same export glue.
#[allow(missing_docs, clippy::pedantic)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/card.wit",
        world: "card",
        // The export macro is used by design crates, so it must be `#[macro_export]`ed and
        // must name these bindings and the runtime by paths valid in the design crate.
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "card_sdk::bindings",
        runtime_path: "card_sdk::__rt",
    });
}

/// The runtime the generated bindings call into; public only for the export macro.
#[doc(hidden)]
pub use wit_bindgen::rt as __rt;

pub use bindings::Guest;
pub use bindings::dealbrain::card::types::{
    CardInput, CardSize, Listing, RenderError, TemplateInfo,
};

/// The Open Graph card size (1200×630), the one every current design lays out for
/// ([`Design::SIZE`]'s default). Designs and tools take it from here; the host reads the size a
/// design declares in `describe`.
pub const OG_CARD_SIZE: CardSize = CardSize {
    width: 1200,
    height: 630,
};

/// `describe` result for a component laid out at [`OG_CARD_SIZE`] that implements [`Guest`]
/// itself (the test fixtures); a [`Design`] gets its `describe` from its constants.
pub fn og_template_info(name: &str, version: &str) -> TemplateInfo {
    TemplateInfo {
        name: name.into(),
        version: version.into(),
        size: OG_CARD_SIZE,
    }
}

/// Rejects a render request for a size other than `expected`.
///
/// # Errors
/// [`RenderError::UnsupportedSize`] with the requested size when it differs from `expected`.
pub fn require_size(input: &CardInput, expected: CardSize) -> Result<(), RenderError> {
    if input.size.width == expected.width && input.size.height == expected.height {
        Ok(())
    } else {
        Err(RenderError::UnsupportedSize(input.size))
    }
}

/// Exports a type implementing [`Design`] (or [`Guest`] itself, as the test fixtures do) as the
/// component's `describe` and `render`.
///
/// The exports exist only in `wasm32` builds: on the host, design crates are plain
/// libraries whose `Guest` impl tests call directly, and several designs can link into one
/// host binary without clashing `render` symbols.
#[macro_export]
macro_rules! export_design {
    ($design:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export!($design with_types_in $crate::bindings);
    };
}

/// Guest glue: the global allocator and the panic handler of a `no_std` component.
#[cfg(target_arch = "wasm32")]
mod guest {
    /// dlmalloc grows linear memory with `memory.grow`, so the host's memory limit applies;
    /// when it refuses, allocation fails and the guest traps through the panic handler.
    #[global_allocator]
    static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

    /// The canonical ABI's allocation entry point: the host calls it to copy the card input's
    /// strings into guest memory. `wit-bindgen` ships one only for `wasip1` targets (on
    /// `wasip2` it would come from wasi-libc through `std`), so a `no_std` guest brings its own.
    ///
    /// # Safety
    /// Called by the host per the canonical ABI: `old_ptr`/`old_len`/`align` describe a block
    /// this allocator returned earlier (or `old_len == 0`), and `align` is a power of two.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn cabi_realloc(
        old_ptr: *mut u8,
        old_len: usize,
        align: usize,
        new_len: usize,
    ) -> *mut u8 {
        use alloc::alloc::{Layout, alloc, realloc};

        let ptr = if old_len == 0 {
            if new_len == 0 {
                // A zero-sized block: any non-null, aligned address will do.
                return align as *mut u8;
            }
            // SAFETY: the caller guarantees `align` is a power of two; `new_len > 0`.
            unsafe { alloc(Layout::from_size_align_unchecked(new_len, align)) }
        } else {
            // SAFETY: the caller guarantees the block came from this allocator with this layout.
            unsafe {
                realloc(
                    old_ptr,
                    Layout::from_size_align_unchecked(old_len, align),
                    new_len,
                )
            }
        };
        if ptr.is_null() {
            // Out of memory (the host's limit refused `memory.grow`): trap, like any allocation.
            core::arch::wasm32::unreachable();
        }
        ptr
    }

    /// A panic is a bug in the design: trap so the host reports a broken design (500)
    /// instead of inventing an error value. No message is kept: formatting it would pull
    /// `core::fmt` machinery into every component for text nobody can read.
    #[panic_handler]
    fn on_panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}
