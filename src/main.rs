use clap::Parser;

mod allocator;

#[global_allocator]
static ALLOCATOR: allocator::SplitBySize = allocator::SplitBySize;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_large_buffers_to_the_system();
    let cli = roster::cli::Cli::parse();
    roster::observability::logging::init(cli.common.log_format.unwrap_or_default());
    roster::cli::run(cli).await
}

/// Every password hash takes a 19 MiB buffer (argon2id, m = 19456 KiB). glibc's allocator raises
/// its mmap threshold once such a buffer is freed, and afterwards keeps later ones in per-thread
/// arenas: 80 hashes on the blocking threads left 750 MB resident. A fixed threshold serves
/// large buffers with mmap and returns them to the system when freed.
#[allow(unsafe_code)]
fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}
