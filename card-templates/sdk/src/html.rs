//! `Html`: a string writer that only accepts literal markup raw and escapes everything else, and the document head every card shares.

use alloc::string::String;

use crate::CardSize;
use crate::escape::push_escaped;
use crate::format::push_digits;
use crate::image::push_data_uri;

/// The fonts every card uses: the locally installed families (Noto first, DejaVu/Liberation as
/// fallbacks). The page has no network, so no web font; Chromium falls back per character
/// for Arabic, Hebrew, CJK and emoji.
pub const FONT_STACK: &str = "\"Noto Sans\",\"DejaVu Sans\",\"Liberation Sans\",\"Noto Sans CJK SC\",\"Noto Sans Arabic\",\"Noto Sans Hebrew\",\"Noto Color Emoji\",sans-serif";

/// Builds an HTML document in which untrusted text can only enter escaped.
///
/// [`Html::raw`] takes `&'static str`, so only markup written into the design's source can
/// be emitted unescaped; listing data (a runtime `&str`) has to go through [`Html::text`].
#[derive(Debug, Default)]
pub struct Html {
    buf: String,
    /// What [`Html::finish`] appends: the end of the document [`Html::document`] opened.
    close: &'static str,
}

impl Html {
    /// An empty fragment with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: String::with_capacity(capacity),
            close: "",
        }
    }

    /// Opens a card document of `size` CSS pixels, up to `<body>`; [`Html::finish`] closes it.
    ///
    /// The head is the same for every card: `<!doctype html>`, `<html lang="en">`, the UTF-8
    /// charset, a viewport of exactly `size`, then one stylesheet: a reset (`box-sizing`, no
    /// margins), `html` and `body` of exactly `size` with nothing overflowing, the body in
    /// [`FONT_STACK`], then the design's own `style`. `capacity` is a hint in bytes (cards are a
    /// few KB plus the image).
    pub fn document(size: CardSize, style: &'static str, capacity: usize) -> Self {
        let mut html = Self::with_capacity(capacity + 1024);
        html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .raw("<meta name=\"viewport\" content=\"width=")
            .number(size.width)
            .raw(",height=")
            .number(size.height)
            .raw("\"><style>\n*{box-sizing:border-box;margin:0;padding:0}\nhtml,body{width:")
            .number(size.width)
            .raw("px;height:")
            .number(size.height)
            .raw("px;overflow:hidden}\nbody{font-family:")
            .raw(FONT_STACK)
            .raw(";-webkit-font-smoothing:antialiased}")
            .raw(style)
            .raw("</style></head><body>");
        html.close = "</body></html>";
        html
    }

    /// Appends a whole number in decimal digits (no separators), e.g. a size in a style.
    pub fn number(&mut self, n: u32) -> &mut Self {
        push_digits(&mut self.buf, u64::from(n), None);
        self
    }

    /// Appends trusted markup written in the design's source.
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.buf.push_str(markup);
        self
    }

    /// Appends untrusted text, escaped for text content and quoted attribute values.
    pub fn text(&mut self, text: &str) -> &mut Self {
        push_escaped(&mut self.buf, text);
        self
    }

    /// Appends a design's own asset as a `data:` URI (base64 needs no escaping), e.g. inside a
    /// CSS `url()` in the page's style.
    pub fn data_uri(&mut self, media_type: &'static str, bytes: &[u8]) -> &mut Self {
        push_data_uri(&mut self.buf, media_type, bytes);
        self
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The finished document (closed after `</body>` when [`Html::document`] opened it).
    pub fn finish(mut self) -> String {
        self.buf.push_str(self.close);
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_markup_and_escaped_text() {
        let mut html = Html::with_capacity(64);
        assert!(html.is_empty());
        html.raw("<p title=\"")
            .text("\"><script>")
            .raw("\">")
            .text("a < b")
            .raw("</p>");
        assert_eq!(html.len(), html.buf.len());
        assert_eq!(
            html.finish(),
            "<p title=\"&quot;&gt;&lt;script&gt;\">a &lt; b</p>"
        );
    }

    #[test]
    fn a_document_has_the_shared_head_and_closes_itself() {
        let size = CardSize {
            width: 800,
            height: 418,
        };
        let mut html = Html::document(size, ".card{color:red}", 0);
        html.raw("<p>")
            .number(0)
            .raw(" ")
            .number(4_294_967_295)
            .raw("</p>");
        let html = html.finish();
        assert!(html.starts_with(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=800,height=418\"><style>"
        ));
        assert!(html.contains("html,body{width:800px;height:418px;overflow:hidden}"));
        assert!(html.contains(FONT_STACK));
        assert!(
            html.ends_with(
                ".card{color:red}</style></head><body><p>0 4294967295</p></body></html>"
            )
        );
        assert_eq!(html.matches("</style>").count(), 1);
    }
}
