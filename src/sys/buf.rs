//! Page-aligned read buffers. The kernel copies file data into a page-aligned buffer markedly
//! faster than into malloc's usual 16-byte-aligned one (measured on `large`: hashing 3.3 GB from
//! a warm cache went from 0.34 s to 0.26 s, the copy's samples from about 1,150 to 680), as
//! GNU `cat` knows.

const PAGE: usize = 4096;

/// A reusable buffer whose slices start on a page boundary.
#[derive(Default)]
pub struct AlignedBuf(Vec<u8>);

impl AlignedBuf {
    /// A buffer of `len` bytes ready to use.
    pub fn with_len(len: usize) -> AlignedBuf {
        let mut b = AlignedBuf::default();
        b.get(len);
        b
    }

    /// `len` page-aligned bytes (contents unspecified), growing the buffer if it must.
    pub fn get(&mut self, len: usize) -> &mut [u8] {
        if self.0.len() < len + PAGE {
            self.0.reserve_exact(len + PAGE - self.0.len());
            self.0.resize(len + PAGE, 0);
        }
        // `align_offset` may in principle decline (usize::MAX); an unaligned buffer still works.
        let at = self.0.as_ptr().align_offset(PAGE).min(PAGE);
        &mut self.0[at..at + len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_start_on_a_page_and_have_the_length_asked() {
        let mut b = AlignedBuf::with_len(10);
        for len in [10, 4096, 300_000, 5] {
            let s = b.get(len);
            assert_eq!(s.len(), len);
            assert_eq!(s.as_ptr() as usize % PAGE, 0);
        }
    }
}
