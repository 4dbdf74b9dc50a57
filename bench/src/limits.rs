//! The open-files limit: every subscription is a socket, on both ends.

use anyhow::Context as _;
use rlimit::Resource;

/// Raises this process's soft open-files limit to its hard limit and
/// returns the new soft limit. The server is spawned from here and inherits
/// it, so thousands of connections need no `ulimit` by hand.
pub fn raise_open_files() -> anyhow::Result<u64> {
    let (_, hard) = Resource::NOFILE.get().context("reading RLIMIT_NOFILE")?;
    Resource::NOFILE
        .set(hard, hard)
        .context("raising RLIMIT_NOFILE")?;
    Ok(hard)
}
