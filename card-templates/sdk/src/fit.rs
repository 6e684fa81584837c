//! Choosing a font size for a figure (a score, a price) so it fits its box without measuring.
//!
//! A design cannot measure text (no browser API reaches the guest), so it estimates the width
//! from per-character advances of the bold UI font and picks a size class from a fixed list;
//! CSS `text-overflow: ellipsis` stays the backstop for an estimate that is off.

/// Approximate advance width of `text` in ems in bold Noto Sans (the card font), with the
/// slightly tightened letter spacing (`-0.022em`) big figures use. Digits are tabular
/// (0.572 em). Meant for figures and prices, good enough for short Latin labels.
pub fn bold_width_em(text: &str) -> f32 {
    text.chars()
        .map(|c| match c {
            '0'..='9' | '$' => 0.572,
            ',' | '.' => 0.27,
            ' ' => 0.26,
            '€' | '£' | '₹' => 0.6,
            'A'..='Z' => 0.68,
            _ => 0.62,
        } - 0.022)
        .sum()
}

/// The first (largest) of `sizes` — `(font size in px, CSS class)`, largest first — at which
/// `text` fits in `max_px`, else the last; returns its class and the estimated width in px.
///
/// # Panics
/// When `sizes` is empty (a bug in the design's constant table).
pub fn fit_size<'a>(text: &str, sizes: &[(f32, &'a str)], max_px: f32) -> (&'a str, f32) {
    let em = bold_width_em(text);
    let (size, class) = sizes
        .iter()
        .copied()
        .find(|&(size, _)| em * size <= max_px)
        .unwrap_or(sizes[sizes.len() - 1]);
    (class, (em * size).min(max_px))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: [(f32, &str); 3] = [(100.0, "big"), (50.0, "mid"), (20.0, "small")];

    #[test]
    fn short_figures_get_the_biggest_size() {
        let (class, width) = fit_size("73.2", &SIZES, 400.0);
        assert_eq!(class, "big");
        assert!(width > 150.0 && width < 200.0, "{width}");
    }

    #[test]
    fn long_figures_step_down_and_never_report_more_than_the_box() {
        assert_eq!(fit_size("1,234,567", &SIZES, 300.0).0, "mid");
        let (class, width) = fit_size(&"9".repeat(400), &SIZES, 300.0);
        assert_eq!(class, "small");
        assert!((width - 300.0).abs() < f32::EPSILON);
        assert_eq!(fit_size("", &SIZES, 0.0).0, "big");
    }
}
