//! Escaping of untrusted text for HTML text, HTML attribute values and CSS strings.

use alloc::string::String;

/// Appends `s` to `out` escaped for HTML text content *and* quoted attribute values.
///
/// One function for both contexts on purpose: escaping all of `& < > " '` everywhere costs a
/// few bytes and removes the chance of picking the wrong escaper for an attribute.
/// C0/C1 control characters (other than tab, newline and carriage return) are dropped: they
/// have no glyph and would render as boxes; the HTML parser would turn NUL into U+FFFD anyway.
pub fn push_escaped(out: &mut String, s: &str) {
    // Copy unescaped runs in one go: most text needs no escaping at all.
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let replacement = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            '\t' | '\n' | '\r' => continue,
            c if c.is_control() => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(replacement);
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
}

/// Returns `s` escaped for HTML text content and quoted attribute values (see [`push_escaped`]).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    push_escaped(&mut out, s);
    out
}

/// Appends `s` to `out` as a double-quoted CSS string that is safe inside a `<style>` element.
///
/// Prefer never putting data in CSS (use a class chosen from a fixed list instead); this
/// exists for the rare case a design must. Every ASCII character other than letters, digits,
/// space, `-` and `_` becomes a CSS hex escape (`\3c `), so neither the string (`"`, `'`,
/// `\`, newline) nor the element (`</style>`) can be closed early. Non-ASCII text is kept as
/// is (it cannot end either); NUL and other control characters are dropped.
pub fn push_css_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_') {
            out.push(c);
        } else if c.is_control() {
            // Includes NUL and C1 controls: nothing visible is lost.
        } else if c.is_ascii() {
            // `c` is ASCII, so two hex digits suffice; the trailing space ends the escape
            // so a following hex digit is not read as part of it.
            let b = c as u8;
            out.push('\\');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

/// Returns `s` as a double-quoted CSS string safe inside `<style>` (see [`push_css_string`]).
pub fn escape_css_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_css_string(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn attribute_breakout_is_escaped() {
        let hostile = r#"" onerror="alert(1)" x='"#;
        let out = escape_html(hostile);
        assert!(!out.contains('"') && !out.contains('\''), "{out}");
    }

    #[test]
    fn already_escaped_text_is_escaped_again() {
        // The input is raw text: an entity in it is literal text, not markup.
        assert_eq!(escape_html("&amp;"), "&amp;amp;");
    }

    #[test]
    fn keeps_unicode_and_drops_controls() {
        let s = "Ноутбук 🎮 游戏本 لابتوب מחשב e\u{301} 👩\u{200d}💻";
        assert_eq!(escape_html(s), s);
        assert_eq!(escape_html("a\u{0}b\u{7}c\u{9b}d\te\nf"), "abcd\te\nf");
    }

    #[test]
    fn empty_and_long_inputs() {
        assert_eq!(escape_html(""), "");
        let long = "<".repeat(100_000);
        let out = escape_html(&long);
        assert_eq!(out.len(), 400_000);
        assert!(!out.contains('<'));
    }

    #[test]
    fn css_string_cannot_close_string_or_style() {
        let out = escape_css_string("a\"b'c\\d\n</style><script>x");
        assert!(out.starts_with('"') && out.ends_with('"'));
        let inner = &out[1..out.len() - 1];
        for bad in ['"', '\'', '\n', '<', '>', '/'] {
            assert!(!inner.contains(bad), "{bad:?} survived in {out}");
        }
        // Every backslash starts a hex escape we wrote, never an input backslash.
        assert_eq!(inner.matches('\\').count(), 8, "{out}");
        assert!(inner.contains("\\3c \\2f style\\3e "));
    }

    #[test]
    fn css_string_keeps_plain_and_unicode_text() {
        assert_eq!(
            escape_css_string("Deal Brain 游戏 🎮"),
            "\"Deal Brain 游戏 🎮\""
        );
        assert_eq!(escape_css_string(""), "\"\"");
        assert_eq!(escape_css_string("\u{0}"), "\"\"");
        assert_eq!(
            escape_css_string("1;"),
            format!("\"1{} \"", "\\3b").to_string()
        );
    }
}
