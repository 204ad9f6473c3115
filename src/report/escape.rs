//! Display of file names that can't forge output or pass for another name: control characters
//! (newline, escape...), format characters (bidi overrides and isolates, zero-width
//! characters), line and paragraph separators and bytes that are not UTF-8 are shown as
//! escapes, and so is the backslash itself, so that two different names never print alike.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Characters that are not shown as themselves: controls (Cc), format characters (Cf: bidi
/// controls, zero-width joiners and spaces, the BOM...) and the line and paragraph separators.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
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

/// Displays a path with `\` as `\\`, hidden characters as `\n`, `\t`, `\x1b`, `\u{202e}`... and
/// invalid UTF-8 as `\xNN`: the output is one line, and tells every name from every other.
pub struct Escaped<'a, P: AsRef<Path> + ?Sized>(pub &'a P);

impl<P: AsRef<Path> + ?Sized> fmt::Display for Escaped<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.as_ref().as_os_str().as_bytes();
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    c if hidden(c) => escape_char(f, c)?,
                    c => write!(f, "{c}")?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
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
        ];
        for (raw, want) in cases {
            let p = Path::new(OsStr::from_bytes(raw));
            assert_eq!(Escaped(p).to_string(), *want);
        }
    }

    #[test]
    fn messages_reach_the_terminal_without_raw_controls() {
        assert_eq!(sanitize("plain \\ text"), "plain \\ text");
        assert_eq!(sanitize("bad\x1b[2Jversion"), "bad\\x1b[2Jversion");
        assert_eq!(sanitize("rtl\u{202e}x"), "rtl\\u{202e}x");
    }
}
