//! Number, price and hardware-spec formatting for card text (English conventions, no `core::fmt`).
//!
//! Everything is done with integer arithmetic: `core::fmt`'s float formatting would add
//! tens of kilobytes to each component, and these labels need none of its generality.

use alloc::string::String;

/// Shown instead of a price when the listing has none.
pub const PRICE_UNAVAILABLE: &str = "Price n/a";

/// Appends the decimal digits of `n` with `,` between groups of three (`26800` → `26,800`).
fn push_grouped(out: &mut String, n: u64) {
    push_digits(out, n, Some(','));
}

/// Appends the decimal digits of `n`, with `separator` between groups of three if there is one.
pub(crate) fn push_digits(out: &mut String, n: u64, separator: Option<char>) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    loop {
        // `rest % 10 < 10`, so the cast cannot truncate.
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        out.push(char::from(digits[i]));
        if let Some(separator) = separator.filter(|_| i > 0 && i % 3 == 0) {
            out.push(separator);
        }
    }
}

/// Formats an integer with thousands separators: `26800` → `26,800`.
pub fn format_count(n: u64) -> String {
    let mut out = String::with_capacity(26);
    push_grouped(&mut out, n);
    out
}

/// Formats a non-negative figure with one decimal and thousands separators:
/// `73.24` → `73.2`, `1234.56` → `1,234.6`.
///
/// Returns `None` for NaN, infinities and negative values: no meaningful figure exists, and
/// the design decides what to show instead (e.g. `—`). Values too large for `u64` tenths
/// saturate rather than wrap; they are nonsense for a CPU Mark per dollar anyway.
pub fn format_one_decimal(x: f64) -> Option<String> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    // Round half up to tenths. `as u64` saturates for huge values and truncates, which for
    // a non-negative value plus 0.5 is rounding; there is no `f64::round` in `core`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let tenths = (x * 10.0 + 0.5) as u64;
    let mut out = String::with_capacity(28);
    push_grouped(&mut out, tenths / 10);
    out.push('.');
    // `tenths % 10 < 10`, so the cast cannot truncate.
    out.push(char::from(b'0' + (tenths % 10) as u8));
    Some(out)
}

/// How a price is written in one currency.
struct CurrencyStyle {
    /// Written before the amount (`$`, `€`); empty when the code goes after it.
    prefix: &'static str,
}

fn currency_style(code: &str) -> CurrencyStyle {
    let prefix = match code {
        "USD" => "$",
        "CAD" => "CA$",
        "AUD" => "A$",
        "NZD" => "NZ$",
        "EUR" => "€",
        "GBP" => "£",
        "INR" => "₹",
        _ => "",
    };
    CurrencyStyle { prefix }
}

/// Formats a price given in cents of `currency`.
///
/// `Some(128_999)`, `"USD"` → `$1,289.99`; whole amounts drop the cents (`$289`);
/// `None` → [`PRICE_UNAVAILABLE`]. Currencies without a known symbol get their code after
/// the amount (`1,289.99 SEK`). The result is plain text: escape it like any other text
/// (the currency code comes from the listing).
pub fn format_price(cents: Option<u64>, currency: &str) -> String {
    let Some(cents) = cents else {
        return String::from(PRICE_UNAVAILABLE);
    };
    let style = currency_style(currency);
    let mut out = String::with_capacity(32);
    out.push_str(style.prefix);
    push_grouped(&mut out, cents / 100);
    let fraction = cents % 100;
    if fraction != 0 {
        out.push('.');
        // `fraction < 100`, so both casts are exact.
        out.push(char::from(b'0' + (fraction / 10) as u8));
        out.push(char::from(b'0' + (fraction % 10) as u8));
    }
    if style.prefix.is_empty() && !currency.is_empty() {
        out.push(' ');
        out.push_str(currency);
    }
    out
}

/// Formats a memory or storage size given in GB: `512` → `512 GB`, `2000` or `2048` → `2 TB`,
/// `1500` → `1.5 TB`, `3840` → `3.84 TB`.
///
/// Listings mix decimal (1000 GB) and binary (1024 GB) terabytes, so both read as whole TB.
pub fn size_label(gb: u32) -> String {
    let mut out = String::with_capacity(16);
    if gb < 1000 {
        push_grouped(&mut out, u64::from(gb));
        out.push_str(" GB");
        return out;
    }
    if gb.is_multiple_of(1024) {
        push_grouped(&mut out, u64::from(gb / 1024));
    } else {
        // Decimal TB with up to two decimals, trailing zeros dropped; truncated, never
        // rounded up, so a 1999 GB drive does not claim 2 TB.
        push_grouped(&mut out, u64::from(gb / 1000));
        let hundredths = (gb % 1000) / 10;
        if hundredths != 0 {
            out.push('.');
            // `hundredths < 100`, so both casts are exact.
            out.push(char::from(b'0' + (hundredths / 10) as u8));
            if !hundredths.is_multiple_of(10) {
                out.push(char::from(b'0' + (hundredths % 10) as u8));
            }
        }
    }
    out.push_str(" TB");
    out
}

/// `32` → `32 GB RAM`; `None` (and `0`, which no real machine has) → `None`.
pub fn ram_label(gb: Option<u32>) -> Option<String> {
    let gb = gb.filter(|&gb| gb > 0)?;
    let mut out = size_label(gb);
    out.push_str(" RAM");
    Some(out)
}

/// `512`, `NVMe SSD` → `512 GB NVMe SSD`; either part alone is shown alone; neither → `None`.
///
/// A size of `0` counts as unknown. `kind` is raw listing text: escape the result.
pub fn storage_label(gb: Option<u32>, kind: Option<&str>) -> Option<String> {
    let kind = kind.map(str::trim).filter(|k| !k.is_empty());
    match (gb.filter(|&gb| gb > 0), kind) {
        (Some(gb), Some(kind)) => {
            let mut out = size_label(gb);
            out.push(' ');
            out.push_str(kind);
            Some(out)
        }
        (Some(gb), None) => {
            let mut out = size_label(gb);
            out.push_str(" storage");
            Some(out)
        }
        (None, Some(kind)) => Some(String::from(kind)),
        (None, None) => None,
    }
}

/// What a listing's free-text condition means, for designs that colour it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// New, sealed or open box.
    New,
    /// Refurbished, renewed.
    Refurbished,
    /// Used, pre-owned, second hand.
    Used,
    /// Anything else (another language, a typo): show the text, uncoloured.
    Other,
}

impl Condition {
    /// Classifies `text` (ASCII case-insensitive, surrounding whitespace ignored).
    pub fn of(text: &str) -> Self {
        let text = text.trim();
        let is = |names: &[&str]| names.iter().any(|n| text.eq_ignore_ascii_case(n));
        if is(&["new", "open box", "open-box", "sealed", "brand new"]) {
            Self::New
        } else if is(&["refurbished", "renewed", "refurb", "certified refurbished"]) {
            Self::Refurbished
        } else if is(&["used", "pre-owned", "preowned", "second hand", "secondhand"]) {
            Self::Used
        } else {
            Self::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_classified_without_listing_text_reaching_css() {
        assert_eq!(Condition::of(" New "), Condition::New);
        assert_eq!(Condition::of("Open Box"), Condition::New);
        assert_eq!(Condition::of("REFURBISHED"), Condition::Refurbished);
        assert_eq!(Condition::of("pre-owned"), Condition::Used);
        assert_eq!(Condition::of("مستعمل"), Condition::Other);
        assert_eq!(Condition::of("new\" onmouseover=\"x"), Condition::Other);
        assert_eq!(Condition::of(""), Condition::Other);
    }

    #[test]
    fn counts_are_grouped() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(7), "7");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(26_800), "26,800");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(format_count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn one_decimal_rounds_half_up() {
        assert_eq!(format_one_decimal(73.24).as_deref(), Some("73.2"));
        assert_eq!(format_one_decimal(73.25).as_deref(), Some("73.3"));
        assert_eq!(format_one_decimal(73.0).as_deref(), Some("73.0"));
        assert_eq!(format_one_decimal(0.0).as_deref(), Some("0.0"));
        assert_eq!(format_one_decimal(-0.0).as_deref(), Some("0.0"));
        assert_eq!(format_one_decimal(0.04).as_deref(), Some("0.0"));
        assert_eq!(format_one_decimal(9.96).as_deref(), Some("10.0"));
        assert_eq!(format_one_decimal(1234.56).as_deref(), Some("1,234.6"));
    }

    #[test]
    fn one_decimal_rejects_non_figures() {
        assert_eq!(format_one_decimal(f64::NAN), None);
        assert_eq!(format_one_decimal(f64::INFINITY), None);
        assert_eq!(format_one_decimal(f64::NEG_INFINITY), None);
        assert_eq!(format_one_decimal(-1.0), None);
    }

    #[test]
    fn one_decimal_saturates_huge_values() {
        let huge = format_one_decimal(f64::MAX).unwrap();
        assert_eq!(huge, "1,844,674,407,370,955,161.5");
        assert!(format_one_decimal(1e300).is_some());
    }

    #[test]
    fn prices() {
        assert_eq!(format_price(Some(129_999), "USD"), "$1,299.99");
        assert_eq!(format_price(Some(28_900), "USD"), "$289");
        assert_eq!(format_price(Some(28_905), "USD"), "$289.05");
        assert_eq!(format_price(Some(0), "USD"), "$0");
        assert_eq!(format_price(Some(5), "USD"), "$0.05");
        assert_eq!(format_price(Some(99_900), "EUR"), "€999");
        assert_eq!(format_price(Some(99_950), "GBP"), "£999.50");
        assert_eq!(format_price(Some(123_456), "SEK"), "1,234.56 SEK");
        assert_eq!(format_price(Some(100), ""), "1");
        assert_eq!(format_price(None, "USD"), PRICE_UNAVAILABLE);
        assert_eq!(
            format_price(Some(u64::MAX), "USD"),
            "$184,467,440,737,095,516.15"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size_label(8), "8 GB");
        assert_eq!(size_label(512), "512 GB");
        assert_eq!(size_label(1000), "1 TB");
        assert_eq!(size_label(1024), "1 TB");
        assert_eq!(size_label(2000), "2 TB");
        assert_eq!(size_label(2048), "2 TB");
        assert_eq!(size_label(1500), "1.5 TB");
        assert_eq!(size_label(3840), "3.84 TB");
        assert_eq!(size_label(1999), "1.99 TB");
        assert_eq!(size_label(u32::MAX), "4,294,967.29 TB");
    }

    #[test]
    fn ram_labels() {
        assert_eq!(ram_label(Some(32)).as_deref(), Some("32 GB RAM"));
        assert_eq!(ram_label(Some(0)), None);
        assert_eq!(ram_label(None), None);
    }

    #[test]
    fn storage_labels() {
        assert_eq!(
            storage_label(Some(512), Some("NVMe SSD")).as_deref(),
            Some("512 GB NVMe SSD")
        );
        assert_eq!(
            storage_label(Some(2000), Some("HDD")).as_deref(),
            Some("2 TB HDD")
        );
        assert_eq!(
            storage_label(Some(256), None).as_deref(),
            Some("256 GB storage")
        );
        assert_eq!(
            storage_label(Some(256), Some("  ")).as_deref(),
            Some("256 GB storage")
        );
        assert_eq!(storage_label(None, Some("eMMC")).as_deref(), Some("eMMC"));
        assert_eq!(storage_label(Some(0), None), None);
        assert_eq!(storage_label(None, None), None);
    }
}
