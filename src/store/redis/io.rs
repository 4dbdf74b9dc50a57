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

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A runtime on a thread of its own, driving one store's Redis
/// connections. Each store has its own (two servers in one process share
/// nothing); the thread, and the connection tasks on it, end when the last
/// holder drops it.
pub struct RedisIo {
    handle: Handle,
    /// Dropping it lets the thread's runtime finish.
    _stop: oneshot::Sender<()>,
}

impl RedisIo {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Self> {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .thread_name("redis-io")
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("redis-io".to_owned())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Self {
            handle,
            _stop: stop,
        })
    }

    /// Runs `task` on the Redis thread.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }
}
