//! The terminal a question is asked on: leaving it as it was found however the question ends.
//! A signal handler may only make async-signal-safe calls, which are `libc` calls here.
#![allow(unsafe_code)]

use std::io;
use std::sync::OnceLock;

use signal_hook::SigId;

/// The terminal's modes and the message, as they were when the handler was put in place (read
/// by the handler, which may not allocate or lock).
static SAVED: OnceLock<(Option<libc::termios>, &'static [u8])> = OnceLock::new();

/// Until [`unwatch`], SIGINT (Ctrl-C at a prompt: the terminal library raises it itself)
/// restores the terminal's modes, shows the cursor, writes `message` on stderr and exits with
/// `code`, instead of killing the process with a hidden cursor and no word.
pub fn on_interrupt_restore_and_exit(code: i32, message: &'static str) -> io::Result<SigId> {
    let saved = {
        // SAFETY: tcgetattr only writes the struct it is given.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        (unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } == 0).then_some(t)
    };
    let _ = SAVED.set((saved, message.as_bytes()));
    let action = move || {
        if let Some((saved, message)) = SAVED.get() {
            // tcsetattr, write and _exit are async-signal-safe.
            if let Some(t) = saved {
                // SAFETY: restores modes read from this same terminal.
                unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
            }
            for bytes in [&b"\x1b[?25h\n"[..], message] {
                // SAFETY: writes a static buffer to stderr.
                unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
            }
        }
        // SAFETY: ends the process at once; nothing was changed yet.
        unsafe { libc::_exit(code) }
    };
    // SAFETY: the action only makes async-signal-safe calls and reads initialized statics.
    unsafe { signal_hook::low_level::register(libc::SIGINT, action) }
}

/// Take the handler of [`on_interrupt_restore_and_exit`] away again.
pub fn unwatch(id: SigId) {
    signal_hook::low_level::unregister(id);
}
