//! Reading extended attributes: of an open file, or of the inode an `O_PATH` fd was opened on.

use std::ffi::OsStr;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;

/// One file's extended attributes as sorted (name, value) pairs, given how to list them and how
/// to read one. A filesystem without xattrs has none. Most files have none or few: the list and
/// each value are read into a small buffer first, and sized exactly only when they don't fit.
fn read_xattrs(
    list: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
    get: impl Fn(&OsStr, &mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    /// Call `f` with a small buffer, then (on ERANGE) with one of the size `f(&mut [])` says.
    fn sized(f: impl Fn(&mut [u8]) -> rustix::io::Result<usize>) -> rustix::io::Result<Vec<u8>> {
        let mut small = [0u8; 256];
        match f(&mut small) {
            Ok(n) => return Ok(small[..n].to_vec()),
            Err(rustix::io::Errno::RANGE) => {}
            Err(e) => return Err(e),
        }
        loop {
            let size = f(&mut [])?;
            if size == 0 {
                return Ok(Vec::new()); // shrank to nothing in between
            }
            let mut big = vec![0u8; size];
            match f(&mut big) {
                Ok(n) => {
                    big.truncate(n);
                    return Ok(big);
                }
                Err(rustix::io::Errno::RANGE) => continue, // grew in between
                Err(e) => return Err(e),
            }
        }
    }
    let names = match sized(list) {
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|s| !s.is_empty()) {
        match sized(|buf| get(OsStr::from_bytes(name), buf)) {
            Ok(value) => out.push((name.to_vec(), value)),
            // Removed between the list and the read.
            Err(rustix::io::Errno::NODATA) => {}
            Err(e) => return Err(e.into()),
        }
    }
    out.sort();
    Ok(out)
}

/// Extended attributes of the file an `O_PATH` fd was opened on (the `f*xattr` calls refuse
/// `O_PATH` fds; `/proc/self/fd/N` reaches that very inode, whatever its name is now).
pub fn xattrs_of_path_fd(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let link = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let link = link.as_str();
    read_xattrs(
        |buf| rustix::fs::listxattr(link, buf),
        |name, buf| rustix::fs::getxattr(link, name, buf),
    )
}

/// Extended attributes of an open file.
pub fn fxattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    read_xattrs(
        |buf| rustix::fs::flistxattr(fd, buf),
        |name, buf| rustix::fs::fgetxattr(fd, name, buf),
    )
}
