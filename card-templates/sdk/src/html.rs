//! `Html`: a string writer that only accepts literal markup raw and escapes everything else.

use alloc::string::String;

use crate::escape::push_escaped;
use crate::image::push_data_uri;

/// Builds an HTML document in which untrusted text can only enter escaped.
///
/// [`Html::raw`] takes `&'static str`, so only markup written into the design's source can
/// be emitted unescaped; listing data (a runtime `&str`) has to go through [`Html::text`].
#[derive(Debug, Default)]
pub struct Html {
    buf: String,
}

impl Html {
    /// An empty document with room for `capacity` bytes (cards are a few KB plus the image).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: String::with_capacity(capacity),
        }
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

    /// The finished document.
    pub fn finish(self) -> String {
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
}
