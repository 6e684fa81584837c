//! Truncating user text to a number of user-perceived characters without splitting one.
//!
//! Exact grapheme segmentation (UAX #29) needs Unicode property tables of tens of kilobytes,
//! more than a whole card component. This approximation keeps together what matters on a
//! card: combining marks of the major scripts, emoji ZWJ sequences, skin tones, variation
//! selectors, keycaps, tag sequences, flag pairs, Hangul jamo and CR LF. Where it errs, it
//! errs by splitting a cluster from a rare script into two, never by cutting inside a
//! UTF-8 sequence: every cut is at a `char` boundary by construction.

use alloc::borrow::Cow;
use alloc::string::String;

/// Appended to truncated text.
pub const ELLIPSIS: char = '…';

/// The brand a card shows when the host passes one with no visible text, so a card never
/// shows an empty mark.
pub const DEFAULT_BRAND: &str = "Deal Brain";

/// The title a card shows for a listing whose title has no visible text.
pub const UNTITLED_LISTING: &str = "Untitled listing";

const ZWJ: char = '\u{200D}';

/// Whether `c` attaches to the character before it (approximate `Grapheme_Extend`,
/// `SpacingMark`, Hangul V/T jamo and emoji modifiers).
fn is_extend(c: char) -> bool {
    let u = u32::from(c);
    if u < 0x300 {
        return false; // Fast path: ASCII and Latin-1/Latin Extended letters.
    }
    // Brahmic scripts from Devanagari to Malayalam share the ISCII layout: signs at offsets
    // 0x00–0x03, nukta at 0x3C, vowel signs and virama at 0x3E–0x4F, length marks at
    // 0x55–0x57 and vocalic vowel signs at 0x62–0x63 of each 128-code-point block.
    if (0x900..0xD80).contains(&u) {
        let offset = u & 0x7F;
        return matches!(offset, 0x00..=0x03 | 0x3A..=0x3C | 0x3E..=0x4F | 0x55..=0x57 | 0x62..=0x63);
    }
    matches!(
        u,
        0x0300..=0x036F // combining diacritical marks
            | 0x0483..=0x0489 // Cyrillic
            | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2 | 0x05C4..=0x05C5 | 0x05C7 // Hebrew points
            | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 // Arabic harakat
            | 0x06D6..=0x06DC | 0x06DF..=0x06E4 | 0x06E7..=0x06E8 | 0x06EA..=0x06ED
            | 0x0711 | 0x0730..=0x074A // Syriac
            | 0x07A6..=0x07B0 // Thaana
            | 0x0DCA | 0x0DCF..=0x0DDF // Sinhala
            | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E // Thai
            | 0x0EB1 | 0x0EB4..=0x0EBC | 0x0EC8..=0x0ECE // Lao
            | 0x0F71..=0x0F84 | 0x0F8D..=0x0FBC // Tibetan
            | 0x102B..=0x103E // Myanmar
            | 0x1160..=0x11FF // Hangul medial vowels and final consonants
            | 0x17B4..=0x17D3 // Khmer
            | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF // more combining marks
            | 0x200C..=0x200D // ZWNJ, ZWJ
            | 0x20D0..=0x20FF // combining marks for symbols, incl. keycap U+20E3
            | 0x302A..=0x302F | 0x3099..=0x309A // CJK tone marks, kana voicing marks
            | 0xFE00..=0xFE0F // variation selectors (emoji/text presentation)
            | 0xFE20..=0xFE2F // combining half marks
            | 0xFF9E..=0xFF9F // halfwidth kana voicing marks
            | 0x1F3FB..=0x1F3FF // emoji skin-tone modifiers
            | 0xE0020..=0xE007F // tag characters (subdivision flags)
            | 0xE0100..=0xE01EF // variation selectors supplement
    )
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Byte offsets at which the (approximate) grapheme clusters of `s` start.
fn cluster_starts(s: &str) -> impl Iterator<Item = usize> + '_ {
    let mut prev: Option<char> = None;
    // Regional indicators pair up into flags: count them to know whether one starts a pair.
    let mut regional_run = 0usize;
    s.char_indices().filter_map(move |(i, c)| {
        let joins = match prev {
            None => false,
            Some(p) => {
                (p == '\r' && c == '\n')
                    || is_extend(c)
                    // Approximates GB11: whatever follows a ZWJ belongs to the sequence.
                    || p == ZWJ
                    || (is_regional_indicator(c) && regional_run % 2 == 1)
            }
        };
        regional_run = if is_regional_indicator(c) {
            regional_run + 1
        } else {
            0
        };
        prev = Some(c);
        (!joins).then_some(i)
    })
}

/// Number of user-perceived characters in `s` (see the module docs for the approximation).
pub fn grapheme_count(s: &str) -> usize {
    cluster_starts(s).count()
}

/// The first user-perceived character of `s` (empty for an empty `s`), e.g. for initials.
pub fn first_grapheme(s: &str) -> &str {
    let end = cluster_starts(s).nth(1).unwrap_or(s.len());
    &s[..end]
}

/// Shortens `s` to at most `max` user-perceived characters, the last being [`ELLIPSIS`]
/// when anything was cut; whitespace before the ellipsis is dropped.
///
/// Text that already fits is returned borrowed, unchanged.
pub fn truncate_graphemes(s: &str, max: usize) -> Cow<'_, str> {
    if max == 0 {
        return Cow::Borrowed("");
    }
    // The start of cluster number `max` (0-based) exists only when `s` is too long; then
    // the kept text ends where cluster `max - 1` starts, leaving room for the ellipsis.
    let mut starts = cluster_starts(s);
    let Some(cut) = starts.nth(max - 1) else {
        return Cow::Borrowed(s);
    };
    if starts.next().is_none() {
        return Cow::Borrowed(s); // Exactly `max` clusters: it fits.
    }
    let kept = s[..cut].trim_end();
    let mut out = String::with_capacity(kept.len() + ELLIPSIS.len_utf8());
    out.push_str(kept);
    out.push(ELLIPSIS);
    Cow::Owned(out)
}

/// `text` trimmed and cut to `max` user-perceived characters; `None` when nothing visible is
/// left, so a design can fall back (to [`UNTITLED_LISTING`]) or drop the element.
pub fn visible_text(text: &str, max: usize) -> Option<Cow<'_, str>> {
    let text = text.trim();
    (!text.is_empty() && max > 0).then(|| truncate_graphemes(text, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn visible_text_trims_cuts_and_drops_blanks() {
        assert_eq!(visible_text("  Mini PC  ", 10).as_deref(), Some("Mini PC"));
        assert_eq!(visible_text("Mini PC deal", 5).as_deref(), Some("Mini…"));
        assert_eq!(visible_text(" \t\n ", 10), None);
        assert_eq!(visible_text("", 10), None);
        assert_eq!(visible_text("x", 0), None);
    }

    #[test]
    fn short_text_is_borrowed_unchanged() {
        assert!(matches!(
            truncate_graphemes("Dell", 4),
            Cow::Borrowed("Dell")
        ));
        assert!(matches!(truncate_graphemes("", 10), Cow::Borrowed("")));
        assert_eq!(truncate_graphemes("abc", 0), "");
    }

    #[test]
    fn long_ascii_gets_an_ellipsis() {
        assert_eq!(truncate_graphemes("abcdef", 4), "abc…");
        assert_eq!(truncate_graphemes("abcde", 5), "abcde");
        assert_eq!(truncate_graphemes("ab cdef", 4), "ab…"); // no space before the ellipsis
        assert_eq!(truncate_graphemes("abcdef", 1), "…");
    }

    #[test]
    fn never_cuts_inside_utf8() {
        let s = "游戏本游戏本游戏本";
        assert_eq!(truncate_graphemes(s, 4), "游戏本…");
        let rtl = "لابتوب مستعمل بحالة ممتازة";
        let out = truncate_graphemes(rtl, 8);
        // Seven kept characters end with a space, which is dropped before the ellipsis.
        assert_eq!(out, "لابتوب…");
    }

    #[test]
    fn keeps_combining_marks_with_their_base() {
        // "e" + combining acute, three times.
        let s = "e\u{301}e\u{301}e\u{301}";
        assert_eq!(grapheme_count(s), 3);
        assert_eq!(truncate_graphemes(s, 2), "e\u{301}…");
        // Devanagari: क + ् + ष + ि (two clusters in this approximation: क्, षि).
        assert_eq!(grapheme_count("क्षि"), 2);
        // Hebrew with points.
        assert_eq!(grapheme_count("שָׁלוֹם"), 4);
    }

    #[test]
    fn keeps_emoji_sequences_whole() {
        let family = "👩\u{200D}👩\u{200D}👧\u{200D}👦";
        let thumbs = "👍🏽";
        let flag = "🇺🇸";
        let keycap = "1\u{FE0F}\u{20E3}";
        let heart = "❤\u{FE0F}";
        for seq in [family, thumbs, flag, keycap, heart] {
            assert_eq!(grapheme_count(seq), 1, "{seq}");
            let twice = seq.repeat(3);
            assert_eq!(truncate_graphemes(&twice, 2), seq.to_string() + "…");
        }
        // Three regional indicators: one flag and a lone indicator.
        assert_eq!(grapheme_count("🇺🇸🇩"), 2);
        assert_eq!(grapheme_count("🇺🇸🇩🇪"), 2);
    }

    #[test]
    fn first_grapheme_keeps_sequences() {
        assert_eq!(first_grapheme(""), "");
        assert_eq!(first_grapheme("Deal"), "D");
        assert_eq!(first_grapheme("e\u{301}x"), "e\u{301}");
        assert_eq!(first_grapheme("👍🏽!"), "👍🏽");
        assert_eq!(first_grapheme("游戏"), "游");
    }

    #[test]
    fn crlf_is_one_character() {
        assert_eq!(grapheme_count("a\r\nb"), 3);
    }

    #[test]
    fn very_long_text_is_cut_to_the_limit() {
        let long = "x".repeat(100_000);
        let out = truncate_graphemes(&long, 200);
        assert_eq!(grapheme_count(&out), 200);
        assert_eq!(out.len(), 199 + ELLIPSIS.len_utf8());
        let emoji = "🎮".repeat(100_000);
        let out = truncate_graphemes(&emoji, 200);
        assert_eq!(out.chars().count(), 200);
    }

    #[test]
    fn leading_combining_mark_counts_as_a_character() {
        // A mark with no base cannot join anything; it must not be lost or cause a panic.
        assert_eq!(grapheme_count("\u{301}abc"), 4);
        assert_eq!(truncate_graphemes("\u{301}abc", 2), "\u{301}…");
    }
}
