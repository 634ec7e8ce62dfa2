//! Working memory for argon2, reused between hashes by each hashing thread. Each hash needs
//! m KiB (19 MiB by default); allocating it afresh means the system maps and zeroes that many
//! pages every time, which measured 4 ms of a 20 ms sign-in. The hashing threads are few (one
//! per core, see `password`) and let their buffer go after a minute without work, so idle
//! memory stays low.

use std::cell::RefCell;

use argon2::Block;

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with `blocks` blocks of argon2 memory (blocking code only).
pub fn with_blocks<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|cell| {
        let mut memory = cell.borrow_mut();
        if memory.len() < blocks {
            *memory = vec![Block::default(); blocks];
        }
        work(&mut memory[..blocks])
    })
}

/// Gives this thread's buffer back to the system.
pub fn release() {
    MEMORY.with(|cell| *cell.borrow_mut() = Vec::new());
}
