//! Display of file names that can't forge output or pass for another name. Escaped, as `\n`,
//! `\xNN` or `\u{NNNN}`:
//! - the backslash itself (so an escape in the output never comes from the name);
//! - control characters, format characters (bidi overrides and isolates, zero-width
//!   characters), line and paragraph separators, every space but U+0020, and the characters that
//!   are invisible by default (variation selectors, Hangul fillers, the blank Braille pattern);
//! - bytes that are not UTF-8;
//! - in a name that is not in Unicode normal form C, its combining marks and conjoining Hangul
//!   jamo (so `é` and `e` + U+0301 print differently);
//! - trailing spaces, and the `>` of `->` and the space of `: ` (the separators of the text
//!   report and of messages), so a name can't move where a line seems to split.
//!
//! Two different names therefore never print alike, and no name can forge a line or move the
//! cursor. [`sanitize`] is the last step before stderr for whole messages.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use unicode_normalization::is_nfc;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Characters that are not shown as themselves anywhere (escaped in every output, JSON too).
pub fn hidden(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
    ) || matches!(c as u32,
        // Invisible by default (Unicode's Default_Ignorable_Code_Point, less Cf), and blank.
        0x034F | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F | 0x2800 | 0x3164
            | 0xFE00..=0xFE0F | 0xFFA0 | 0xE0100..=0xE01EF)
}

/// Parts of a decomposed (not NFC) name that would print like the composed form.
fn decomposed_part(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    ) || matches!(c as u32, 0x1100..=0x11FF | 0xA960..=0xA97F | 0xD7B0..=0xD7FF)
}

/// Write `c` as an escape.
fn escape_char(f: &mut dyn fmt::Write, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\t' => f.write_str("\\t"),
        '\r' => f.write_str("\\r"),
        c if (c as u32) < 0x100 => write!(f, "\\x{:02x}", c as u32),
        c => write!(f, "\\u{{{:x}}}", c as u32),
    }
}

/// A message with every hidden character escaped (the backslash is left alone: paths in it are
/// already [`Escaped`]). For the last step before stderr, so that nothing a file or a plan
/// contained can reach the terminal raw.
pub fn sanitize(msg: &str) -> std::borrow::Cow<'_, str> {
    if !msg.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(msg);
    }
    let mut out = String::with_capacity(msg.len() + 8);
    for c in msg.chars() {
        if hidden(c) {
            let _ = escape_char(&mut out, c);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Displays a path as the module docs say: one line, told apart from every other name.
pub struct Escaped<'a, P: AsRef<Path> + ?Sized>(pub &'a P);

impl<P: AsRef<Path> + ?Sized> fmt::Display for Escaped<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.as_ref().as_os_str().as_bytes();
        // Spaces at the very end are invisible.
        let trailing = bytes.iter().rev().take_while(|&&b| b == b' ').count();
        let (bytes, tail) = bytes.split_at(bytes.len() - trailing);
        let mut prev = '\0';
        for chunk in bytes.utf8_chunks() {
            let text = chunk.valid();
            let nfc = text.is_ascii() || is_nfc(text);
            // Runs of characters that stand for themselves are written as one slice.
            let mut plain = 0;
            for (i, c) in text.char_indices() {
                let fixed = match c {
                    '\\' => Some("\\\\"),
                    '>' if prev == '-' => Some("\\x3e"),
                    ' ' if prev == ':' => Some("\\x20"),
                    _ => None,
                };
                let coded = fixed.is_none() && (hidden(c) || (!nfc && decomposed_part(c)));
                if fixed.is_some() || coded {
                    f.write_str(&text[plain..i])?;
                    match fixed {
                        Some(e) => f.write_str(e)?,
                        None => escape_char(f, c)?,
                    }
                    plain = i + c.len_utf8();
                }
                prev = c;
            }
            f.write_str(&text[plain..])?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
                prev = '\0';
            }
        }
        for _ in tail {
            f.write_str("\\x20")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn escapes_what_could_forge_a_line() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain/name.txt", "plain/name.txt"),
            (b"with space/a b", "with space/a b"),
            (b"new\nline", "new\\nline"),
            (b"esc\x1b[31mred", "esc\\x1b[31mred"),
            (b"bad\xffbyte", "bad\\xffbyte"),
            ("caf\u{e9} \u{85}".as_bytes(), "caf\u{e9} \\x85"),
            // A real newline and a literal backslash-n must not print alike.
            (b"back\\nslash", "back\\\\nslash"),
            (b"bad\\xffbyte", "bad\\\\xffbyte"),
            // Bidi override, isolates, zero-width space and joiner, BOM, line separator.
            (
                "invoice\u{202e}fdp.exe".as_bytes(),
                "invoice\\u{202e}fdp.exe",
            ),
            ("a\u{2066}b\u{2069}".as_bytes(), "a\\u{2066}b\\u{2069}"),
            (
                "zero\u{200b}width\u{200d}".as_bytes(),
                "zero\\u{200b}width\\u{200d}",
            ),
            ("\u{feff}bom\u{2028}".as_bytes(), "\\u{feff}bom\\u{2028}"),
            // Other spaces, invisible characters, blanks.
            ("n\u{a0}b".as_bytes(), "n\\xa0b"),
            ("var\u{fe0f}.txt".as_bytes(), "var\\u{fe0f}.txt"),
            ("hangul\u{3164}".as_bytes(), "hangul\\u{3164}"),
            ("\u{2800}".as_bytes(), "\\u{2800}"),
            ("ideo\u{3000}space".as_bytes(), "ideo\\u{3000}space"),
            // Composed and decomposed forms differ.
            ("caf\u{e9}.txt".as_bytes(), "caf\u{e9}.txt"),
            ("cafe\u{301}.txt".as_bytes(), "cafe\\u{301}.txt"),
            (
                "\u{1112}\u{1161}\u{11ab}".as_bytes(),
                "\\u{1112}\\u{1161}\\u{11ab}",
            ),
            // Names in normal form keep their marks.
            ("\u{915}\u{93f}".as_bytes(), "\u{915}\u{93f}"),
            // Trailing spaces; the separators of the report.
            (b"a.txt  ", "a.txt\\x20\\x20"),
            (b"b.txt -> keep.txt", "b.txt -\\x3e keep.txt"),
            (b"c: changed", "c:\\x20changed"),
            (b"a-b>c:d", "a-b>c:d"),
            (b"a->b", "a-\\x3eb"),
        ];
        for (raw, want) in cases {
            let p = Path::new(OsStr::from_bytes(raw));
            assert_eq!(Escaped(p).to_string(), *want, "{raw:?}");
        }
    }

    #[test]
    fn names_that_differ_print_differently() {
        let names: &[&[u8]] = &[
            b"x\ny",
            b"x\\ny",
            "caf\u{e9}".as_bytes(),
            "cafe\u{301}".as_bytes(),
            b"a b",
            "a\u{a0}b".as_bytes(),
            b"a.txt",
            b"a.txt ",
            "var".as_bytes(),
            "var\u{fe0f}".as_bytes(),
            b"b.txt -> keep.txt",
            b"b.txt -\\x3e keep.txt",
        ];
        let shown: std::collections::BTreeSet<String> = names
            .iter()
            .map(|n| Escaped(Path::new(OsStr::from_bytes(n))).to_string())
            .collect();
        assert_eq!(shown.len(), names.len(), "{shown:?}");
    }

    #[test]
    fn messages_reach_the_terminal_without_raw_controls() {
        assert_eq!(sanitize("plain \\ text"), "plain \\ text");
        assert_eq!(sanitize("bad\x1b[2Jversion"), "bad\\x1b[2Jversion");
        assert_eq!(sanitize("rtl\u{202e}x"), "rtl\\u{202e}x");
    }
}
