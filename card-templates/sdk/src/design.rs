//! `Design`: what a Rust card design writes (name, version, style, markup); the SDK turns it into the WIT exports.

use alloc::string::String;

use crate::{CardInput, CardSize, Guest, Html, OG_CARD_SIZE, RenderError, TemplateInfo};

/// A card design: its own style and markup, nothing else.
///
/// Every type implementing `Design` is a [`Guest`] (the WIT exports `describe` and `render`):
/// `describe` answers [`Design::NAME`], [`Design::VERSION`] and [`Design::SIZE`]; `render`
/// refuses any other size with `unsupported-size`, opens the document with [`Html::document`]
/// (doctype, charset, the viewport of the size, the shared reset and font stack, then
/// [`Design::STYLE`]), lets [`Design::markup`] write the body and closes the document.
/// [`export_design!`](crate::export_design) exports it from the component.
pub trait Design {
    /// Stable design name, `[a-z0-9-]{1,32}`: used in URLs (`?variant=NAME`), object keys and
    /// `X-Card-Template`.
    const NAME: &'static str;
    /// Design version (semver), shown in `X-Card-Template: name@version`; bump it when the
    /// pixels change.
    const VERSION: &'static str;
    /// The size the design lays out for; the host captures exactly this box.
    const SIZE: CardSize = OG_CARD_SIZE;
    /// The design's fixed CSS, after the shared reset and font stack. Listing data never goes
    /// here: variants are classes chosen in Rust.
    const STYLE: &'static str;
    /// Bytes to reserve for the document besides the listing image (a card is a few KB).
    const CAPACITY: usize = 8 * 1024;

    /// Writes the card's markup (what goes inside `<body>`) for `input`, whose size is
    /// [`Design::SIZE`].
    ///
    /// # Errors
    /// A [`RenderError::InvalidInput`] when the input lacks something the design cannot do
    /// without (the host answers 422); most designs have a fallback for everything instead.
    fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError>;
}

impl<D: Design> Guest for D {
    fn describe() -> TemplateInfo {
        TemplateInfo {
            name: D::NAME.into(),
            version: D::VERSION.into(),
            size: D::SIZE,
        }
    }

    fn render(input: CardInput) -> Result<String, RenderError> {
        crate::require_size(&input, D::SIZE)?;
        let image = input.image_data_uri.as_ref().map_or(0, String::len);
        let mut html = Html::document(input.size, D::STYLE, D::CAPACITY + image);
        D::markup(&input, &mut html)?;
        Ok(html.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    struct Plain;

    impl Design for Plain {
        const NAME: &'static str = "plain";
        const VERSION: &'static str = "1.2.3";
        const STYLE: &'static str = "h1{color:red}";

        fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError> {
            if input.listing.title.is_empty() {
                return Err(RenderError::InvalidInput("no title".into()));
            }
            html.raw("<h1>").text(&input.listing.title).raw("</h1>");
            Ok(())
        }
    }

    #[test]
    fn describe_and_render_come_from_the_design() {
        let info = Plain::describe();
        assert_eq!(
            (info.name.as_str(), info.version.as_str()),
            ("plain", "1.2.3")
        );
        assert_eq!((info.size.width, info.size.height), (1200, 630));

        let mut input = samples::all(None).swap_remove(0).1;
        input.listing.title = "a < b".into();
        let html = Plain::render(input.clone()).unwrap();
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("h1{color:red}</style></head><body><h1>a &lt; b</h1>"));
        assert!(html.ends_with("</body></html>"), "{html}");

        input.listing.title.clear();
        assert!(matches!(
            Plain::render(input.clone()),
            Err(RenderError::InvalidInput(_))
        ));
        input.size.width = 800;
        assert!(matches!(
            Plain::render(input),
            Err(RenderError::UnsupportedSize(CardSize {
                width: 800,
                height: 630
            }))
        ));
    }
}
