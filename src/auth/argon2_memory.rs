//! Working memory for argon2, reused between hashes. Each hash needs m KiB (19 MiB by
//! default); allocating it afresh means the system maps and zeroes that many pages every
//! time, which measured 4 ms of a 20 ms sign-in. At most one buffer per hashing slot is
//! kept, and all are let go after a minute without sign-ins, so idle memory stays low.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use argon2::Block;

use crate::clock::now_ms;

/// Process-wide like the hashing semaphore whose slots it serves.
static POOL: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
static LAST_USE: AtomicI64 = AtomicI64::new(0);
const IDLE_MS: i64 = 60_000;

fn slots() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// Runs `work` with `blocks` blocks of argon2 memory (blocking code only).
pub fn with_blocks<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    LAST_USE.store(now_ms(), Ordering::Relaxed);
    let reused = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let mut memory = match reused {
        Some(m) if m.len() >= blocks => m,
        _ => vec![Block::default(); blocks],
    };
    let result = work(&mut memory[..blocks]);
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < slots() {
        pool.push(memory);
    }
    result
}

/// Lets the buffers go when no one signed in for a while (called by a timer).
pub fn trim_if_idle() {
    if now_ms() - LAST_USE.load(Ordering::Relaxed) > IDLE_MS {
        POOL.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
