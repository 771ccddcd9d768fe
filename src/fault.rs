//! Crash points for the fault-injection tests.
//!
//! Every durable step of a destructive command (a manifest append, an fsync, a rename, a
//! delete) calls [`step`]. With `MCPSWEEP_CRASH_AT=N` in the environment the process sends
//! itself SIGKILL when it reaches step N, so a test can stop it at each step in turn and check
//! that nothing was lost. Without the variable a step is a counter increment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static REACHED: AtomicU64 = AtomicU64::new(0);

fn crash_at() -> Option<u64> {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| {
        std::env::var("MCPSWEEP_CRASH_AT")
            .ok()
            .and_then(|v| v.parse().ok())
    })
}

/// Marks a durable step; kills the process here when the crash test asks for it.
pub fn step() {
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    if crash_at() == Some(n) {
        // SAFETY: kill(2) on our own pid with a constant signal has no memory effects.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// Steps reached so far in this process.
pub fn steps_reached() -> u64 {
    REACHED.load(Ordering::SeqCst)
}
