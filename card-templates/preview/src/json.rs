//! The SDK's sample inputs as JSON, for previews and checks of designs written in other languages.
//!
//! Field names are the camelCase ones jco and componentize-qjs use for the WIT records
//! (`priceCents`, `imageDataUri`), `none` is `null`. JSON numbers cannot carry every WIT value,
//! so `u64` fields are decimal strings (a JavaScript caller passes `BigInt(s)` to jco) and
//! `f64` fields are strings too (`"NaN"`, `"inf"`, `"-inf"` or the decimal), read back with
//! `Number(s)` after mapping `inf` to `Infinity`.

use std::fmt::Write as _;

use card_sdk::{CardInput, Listing, samples};

/// `[{"name": "full", "input": {…}}, …]` for every sample of [`samples::all`].
pub fn samples_json(image: Option<&str>) -> String {
    let mut out = String::from("[\n");
    for (i, (name, input)) in samples::all(image).iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str("{\"name\":");
        string(&mut out, name);
        out.push_str(",\"input\":");
        card_input(&mut out, input);
        out.push('}');
    }
    out.push_str("\n]\n");
    out
}

fn card_input(out: &mut String, input: &CardInput) {
    out.push_str("{\"listing\":");
    listing(out, &input.listing);
    out.push_str(",\"imageDataUri\":");
    option(out, input.image_data_uri.as_deref(), string);
    out.push_str(",\"brand\":");
    string(out, &input.brand);
    let _ = write!(
        out,
        ",\"size\":{{\"width\":{},\"height\":{}}}}}",
        input.size.width, input.size.height
    );
}

fn listing(out: &mut String, l: &Listing) {
    out.push_str("{\"id\":");
    string(out, &l.id);
    out.push_str(",\"title\":");
    string(out, &l.title);
    out.push_str(",\"priceCents\":");
    option(out, l.price_cents, |out, v| string(out, &v.to_string()));
    out.push_str(",\"currency\":");
    string(out, &l.currency);
    out.push_str(",\"cpuName\":");
    option(out, l.cpu_name.as_deref(), string);
    out.push_str(",\"cpuMark\":");
    option(out, l.cpu_mark, number);
    out.push_str(",\"cpuMarkPerDollar\":");
    option(out, l.cpu_mark_per_dollar, |out, v| {
        string(out, &v.to_string());
    });
    out.push_str(",\"ramGb\":");
    option(out, l.ram_gb, number);
    out.push_str(",\"storageGb\":");
    option(out, l.storage_gb, number);
    out.push_str(",\"storageType\":");
    option(out, l.storage_type.as_deref(), string);
    out.push_str(",\"condition\":");
    option(out, l.condition.as_deref(), string);
    out.push_str(",\"seller\":");
    option(out, l.seller.as_deref(), string);
    out.push('}');
}

fn option<T>(out: &mut String, value: Option<T>, write: impl FnOnce(&mut String, T)) {
    match value {
        Some(value) => write(out, value),
        None => out.push_str("null"),
    }
}

fn number(out: &mut String, value: u32) {
    let _ = write!(out, "{value}");
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_wide_numbers_are_strings() {
        let json = samples_json(None);
        assert!(
            json.starts_with("[\n{\"name\":\"full\",\"input\":{\"listing\":{\"id\":\"lst_7f3a9c\"")
        );
        // The hostile sample's quotes and the extreme sample's u64::MAX survive the trip.
        assert!(json.contains(r#"\"><img src=x onerror=alert(2)>"#));
        assert!(json.contains("\"priceCents\":\"18446744073709551615\""));
        assert!(json.contains("\"cpuMarkPerDollar\":\"NaN\""));
        assert!(json.contains("\"cpuMark\":4294967295"));
        assert!(json.contains("\"imageDataUri\":null"));
        let mut out = String::new();
        string(&mut out, "a\u{1}b\\");
        assert_eq!(out, r#""a\u0001b\\""#);
    }
}
