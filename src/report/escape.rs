//! Display of file names that can't forge output: control characters (newline, escape...) and
//! bytes that are not UTF-8 are shown as escapes.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Displays a path with control characters as `\n`, `\t`, `\x1b`... and invalid UTF-8 as `\xNN`.
pub struct Escaped<'a, P: AsRef<Path> + ?Sized>(pub &'a P);

impl<P: AsRef<Path> + ?Sized> fmt::Display for Escaped<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.as_ref().as_os_str().as_bytes();
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\n' => f.write_str("\\n")?,
                    '\t' => f.write_str("\\t")?,
                    '\r' => f.write_str("\\r")?,
                    c if c.is_control() => {
                        if (c as u32) < 0x100 {
                            write!(f, "\\x{:02x}", c as u32)?
                        } else {
                            write!(f, "\\u{{{:x}}}", c as u32)?
                        }
                    }
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
        ];
        for (raw, want) in cases {
            let p = Path::new(OsStr::from_bytes(raw));
            assert_eq!(Escaped(p).to_string(), *want);
        }
    }
}
