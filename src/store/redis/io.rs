//! The thread that talks to Redis.
//!
//! Redis connections are driven by tasks of their own (the multiplexed
//! connection's reader, the consumer's blocking reads). On the server's
//! runtime those tasks wait in the same run queue as thousands of socket
//! tasks, so under delivery load every Redis reply sat behind a queue of
//! deliveries before its request could go on. Driving them from a runtime
//! on a thread of their own lets the kernel schedule that thread as soon as
//! a reply arrives: the thread is idle most of the time, so it runs ahead
//! of the busy workers.

use std::future::Future;
use std::sync::LazyLock;

use tokio::runtime::{Builder, Handle};
use tokio::task::JoinHandle;

static RUNTIME: LazyLock<Handle> = LazyLock::new(|| {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .thread_name("redis-io")
        .build()
        .expect("a current-thread runtime builds");
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("redis-io".to_owned())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .expect("the redis-io thread starts");
    handle
});

/// Runs `task` on the Redis thread.
pub fn spawn<F>(task: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    RUNTIME.spawn(task)
}
