//! How the JSON reports' bytes are written: compact (one line, for programs) or indented (for
//! a person), and in both cases with every character that is not shown as itself escaped, so
//! that a report is safe to read on a terminal and still the same JSON value.

use std::io::{self, Write};

use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// A serializer that writes JSON into `w`, indented or on one line.
pub fn serializer(w: &mut dyn Write, pretty: bool) -> serde_json::Serializer<&mut dyn Write, Safe> {
    serde_json::Serializer::with_formatter(w, Safe(pretty.then(PrettyFormatter::new)))
}

/// A JSON formatter, pretty (`Some`) or compact, that also escapes (as `\uXXXX`, losslessly)
/// the characters that are not shown as themselves ([`crate::escape::hidden`]: bidi controls,
/// zero-width characters...).
pub struct Safe(Option<PrettyFormatter<'static>>);

impl Formatter for Safe {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        // Most names are printable ASCII, where nothing is hidden: no need to decode them.
        if s.bytes().all(|b| matches!(b, b' '..=b'~')) {
            return w.write_all(s.as_bytes());
        }
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if crate::escape::hidden(c) {
                w.write_all(&s.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", u)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&s.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.begin_array(w),
            None => CompactFormatter.begin_array(w),
        }
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.end_array(w),
            None => CompactFormatter.end_array(w),
        }
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.begin_array_value(w, first),
            None => CompactFormatter.begin_array_value(w, first),
        }
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.end_array_value(w),
            None => CompactFormatter.end_array_value(w),
        }
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.begin_object(w),
            None => CompactFormatter.begin_object(w),
        }
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.end_object(w),
            None => CompactFormatter.end_object(w),
        }
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.begin_object_key(w, first),
            None => CompactFormatter.begin_object_key(w, first),
        }
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.begin_object_value(w),
            None => CompactFormatter.begin_object_value(w),
        }
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.0 {
            Some(pretty) => pretty.end_object_value(w),
            None => CompactFormatter.end_object_value(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    /// Hidden characters are escaped in both layouts, DEL too (which JSON itself allows raw);
    /// printable and visible characters stay as they are.
    #[test]
    fn hidden_characters_are_escaped_and_nothing_else() {
        let cases = [
            ("plain name.jpg", r#""plain name.jpg""#),
            ("a\u{7f}b", r#""a\u007fb""#),
            ("x\ny\u{1b}", r#""x\ny\u001b""#),
            ("in\u{202e}voice", r#""in\u202evoice""#),
            ("zero\u{200b}width", r#""zero\u200bwidth""#),
            ("\u{e0100}", r#""\udb40\udd00""#),
            ("café 😀", "\"café 😀\""),
        ];
        for pretty in [false, true] {
            for (name, want) in cases {
                let mut out = Vec::new();
                name.serialize(&mut super::serializer(&mut out, pretty))
                    .unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), want, "{name:?}");
            }
        }
    }
}
